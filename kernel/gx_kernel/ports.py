"""The event store as a port: what handlers, the unit of work and the rebuild rely on.

`EventStore` (PostgreSQL) and `InMemoryEventStore` both satisfy it; the contract suite in
tests/kernel/test_eventstore_contract.py holds them to the same behaviour.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from gx_kernel.eventstore import Checkpoint, NewEvent, StoredEvent


@runtime_checkable
class EventStorePort(Protocol):
    schema: str

    async def append(self, stream_id: str, expected_version: int | None,
                     events: Sequence[NewEvent], metadata: Mapping[str, Any] | None = None,
                     conn: Any = None) -> list[StoredEvent]: ...

    async def stream_version(self, stream_id: str, conn: Any = None) -> int: ...

    async def read_stream(self, stream_id: str, after_version: int = 0,
                          conn: Any = None) -> list[StoredEvent]: ...

    async def read_all(self, after: Checkpoint = ..., limit: int = 500) -> list[StoredEvent]: ...

    def notify_committed(self) -> None: ...

    async def wait_for_append(self, timeout: float) -> None: ...
