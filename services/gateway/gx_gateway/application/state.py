"""The gateway's per-process singletons (网关运行状态), set once in `on_setup`."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aiohttp
import asyncpg
import httpx

from gx_kernel.service import ServiceRuntime

from gx_gateway.application.api_docs import MergedOpenAPI
from gx_gateway.application.revocations import RevokedFamilies
from gx_gateway.application.shared_limits import SharedRateLimiter


@dataclass
class GatewayState:
    limits: tuple[SharedRateLimiter, SharedRateLimiter]  # per user, per device (shared)
    idempotency_pool: asyncpg.Pool  # commits without waiting for the disk (see main)
    revoked: RevokedFamilies
    http: httpx.AsyncClient  # health checks and OpenAPI documents of the services
    upstream: aiohttp.ClientSession  # the forwarding path
    openapi: MergedOpenAPI
    console_features: tuple[float, dict[str, Any]] | None = None  # (monotonic time, body)


def state(rt: ServiceRuntime) -> GatewayState:
    return rt.typed_state(GatewayState)
