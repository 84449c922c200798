"""The gateway's audit trail: each change is an event appended in the row's unit of work.

Commands open `unit_of_work(rt)` (gx_kernel.uow): the table rows and the events they `record`
commit together, and the relay is woken only after that commit — no handler wakes it by hand.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gx_contracts.events import event_fields
from gx_contracts.ids import stream_id
from gx_contracts.types import EventPayload
from gx_kernel.eventstore import NewEvent
from gx_kernel.identity import Principal
from gx_kernel.service import ServiceRuntime
from gx_kernel.uow import UnitOfWork


def audit_metadata(p: Principal | None) -> dict[str, Any]:
    if p is None:
        return {"actor": "system", "role": "system", "division": None, "device": None}
    return {"actor": p.user_id, "role": p.role, "division": p.scope, "device": p.device_id}


def unit_of_work(rt: ServiceRuntime) -> UnitOfWork:
    """One command's transaction on the gateway's store (tests swap in FakeUnitOfWork)."""
    return UnitOfWork(rt.store)


def record(uow: UnitOfWork, prefix: str, id_: Any, who: Principal | None,
           events: Sequence[EventPayload], expected: int | None = None) -> None:
    """Append these events (gx_contracts.events.gateway payloads, validated when they were
    made) to stream `<prefix>-<id>` when the unit commits."""
    if events:
        uow.collect(stream_id(prefix, id_), expected,
                    [NewEvent(**event_fields(e)) for e in events], audit_metadata(who))
