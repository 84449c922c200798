"""The registry's runtime state (one object, set in on_setup; see gx_kernel.service)."""
from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field

from gx_kernel.service import ServiceRuntime


@dataclass
class RegistryState:
    imports: dict[uuid.UUID, asyncio.Task[None]] = field(default_factory=dict)
    """Department-file imports running in this process (batch id -> task)."""


def state(rt: ServiceRuntime) -> RegistryState:
    return rt.typed_state(RegistryState)
