"""Inbound events, typed: decoded through the contracts' registry, handled per payload class.

Every registered `*.submitted` payload that carries a `submission` (agri's report,
population's household, any domain added later) opens or resubmits a review case; every
`*.task.published` payload with a `task_id` and a `scope_division` records the task's scope
(progress counts 应报 inside it; workflow stays domain-free). The consumer asks only for the
types that have a handler here.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from gx_contracts.events import decode as decode_payload
from gx_contracts.events.base import EVENT_TYPES, EventPayload, Submission
from gx_kernel.consumer import InboundEvent
from gx_kernel.projections import ProjectionRegistry

from gx_workflow.adapters.schema import current_chain
from gx_workflow.application.cases import ChainSource, intake_submission, now_utc
from gx_workflow.domain.chains import DEFAULT_PROFILE


@dataclass
class Inbound:
    """What an inbound handler works with: the store, its transaction, the chain profile."""

    store: Any
    conn: Any
    profile: str = DEFAULT_PROFILE
    projections: ProjectionRegistry | None = None
    chains: ChainSource = field(default=current_chain)


Handler = Callable[[Inbound, Any, InboundEvent], Awaitable[None]]


def submission_payloads() -> list[type[EventPayload]]:
    """Registered `*.submitted` payload classes that carry a `submission`."""
    return [model for name, (model, _) in sorted(EVENT_TYPES.items())
            if name.endswith(".submitted") and "submission" in model.model_fields]


async def on_submitted(ctx: Inbound, payload: Any, event: InboundEvent) -> None:
    sub: Submission = payload.submission
    await intake_submission(ctx.store, ctx.conn, sub, inbound_metadata(event), now_utc(),
                            ctx.profile, projections=ctx.projections, chains=ctx.chains)


def task_scope_payloads() -> list[type[EventPayload]]:
    """Registered `*.task.published` payload classes that name the task and its scope."""
    return [model for name, (model, _) in sorted(EVENT_TYPES.items())
            if name.endswith(".task.published")
            and {"task_id", "scope_division"} <= set(model.model_fields)]


async def on_task_published(ctx: Inbound, payload: Any, event: InboundEvent) -> None:
    # Redelivery or a later republish of the same task: the latest scope wins.
    await ctx.conn.execute(
        f"INSERT INTO {ctx.store.schema}.task_scopes (task_id, scope_division, source_event) "
        f"VALUES ($1, $2, $3) ON CONFLICT (task_id) DO UPDATE SET "
        f"scope_division = EXCLUDED.scope_division, source_event = EXCLUDED.source_event, "
        f"recorded_at = now()", str(payload.task_id), payload.scope_division, event.id)


EVENT_HANDLERS: dict[type[BaseModel], Handler] = {
    **{model: on_submitted for model in submission_payloads()},
    **{model: on_task_published for model in task_scope_payloads()}}
WANTED_TYPES = frozenset(m.EVENT_TYPE for m in EVENT_HANDLERS)  # type: ignore[attr-defined]


def wants(event_type: str) -> bool:
    """The consumer's filter: only types with a handler are worth a transaction."""
    return event_type in WANTED_TYPES


def decode(event: InboundEvent) -> BaseModel:
    """The event's payload object, upcast from its stored schema version; ValueError (poison:
    dead-lettered) if it cannot be decoded."""
    return decode_payload(event.type, event.schema_version, event.data)


async def handle(ctx: Inbound, event: InboundEvent) -> None:
    """Decode and dispatch one inbound event (types without a handler are ignored)."""
    if event.type not in WANTED_TYPES:
        return
    payload = decode(event)
    await EVENT_HANDLERS[type(payload)](ctx, payload, event)


def inbound_metadata(event: InboundEvent) -> dict[str, Any]:
    m = event.metadata
    return {"actor": m.get("actor"), "actor_name": m.get("actor_name"), "role": m.get("role"),
            "division": m.get("division"), "device": m.get("device"),
            "causation_id": str(event.id), "correlation_id": m.get("correlation_id")}
