"""Reactions to the review chain (topic workflow.events) for progress reports."""
from __future__ import annotations

from collections.abc import Callable

import asyncpg

from gx_kernel.kafka import InboundEvent
from gx_kernel.service import ServiceRuntime


def wants(event_type: str) -> bool:
    return False


def make_handler(get_rt: Callable[[], ServiceRuntime]):
    async def handle(conn: asyncpg.Connection, event: InboundEvent) -> None:
        return None
    return handle
