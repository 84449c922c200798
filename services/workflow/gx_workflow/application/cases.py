"""Command handlers and the submission intake: load case, decide, append + project, one tx."""
from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Any, Callable
from uuid import UUID

import asyncpg
from pydantic import ValidationError

from gx_contracts.events.base import EventPayload, Submission, event_fields
from gx_contracts.ids import case_id_for
from gx_kernel.consumer import InboundEvent
from gx_kernel.errors import NotFound
from gx_kernel.eventstore import EventStore, NewEvent
from gx_kernel.identity import Principal
from gx_kernel.idempotency import run_once

from gx_workflow.adapters.schema import current_chain
from gx_workflow.application.projection import case_view, project
from gx_workflow.application.queries import with_late
from gx_workflow.domain import commands as dc
from gx_workflow.domain.case import ReviewCase
from gx_workflow.domain.chains import DEFAULT_PROFILE

log = logging.getLogger(__name__)
Decide = Callable[[ReviewCase, dc.Actor, datetime], EventPayload]


def now_utc() -> datetime:
    return datetime.now(timezone.utc)


def actor_of(p: Principal) -> dc.Actor:
    return dc.Actor(user_id=p.user_id, role=p.role, scope=p.scope, device=p.device_id)


def metadata_of(p: Principal, causation: str | None) -> dict[str, Any]:
    return {"actor": p.user_id, "actor_name": p.username, "role": p.role, "division": p.scope,
            "device": p.device_id, "causation_id": causation}


async def load_case(store: EventStore, conn: asyncpg.Connection, case_id: UUID
                    ) -> ReviewCase | None:
    return ReviewCase.replay(await store.read_stream(f"case-{case_id}", conn=conn))


async def append_and_project(store: EventStore, conn: asyncpg.Connection, case: ReviewCase | None,
                             payloads: list[EventPayload], metadata: dict[str, Any],
                             stream_id: str) -> ReviewCase:
    stored = await store.append(stream_id, case.version if case else 0,
                                [NewEvent(**event_fields(p)) for p in payloads], metadata,
                                conn=conn)
    for e in stored:
        case = case.apply(e) if case else ReviewCase.replay([e])
    assert case is not None
    await project(conn, store.schema, case, stored)
    return case


async def act(store: EventStore, principal: Principal, case_id: UUID, action: str,
              body: Any, idempotency_key: str | None, decide: Decide) -> dict[str, Any]:
    """Run a reviewer's action once per idempotency key; return the updated case view."""
    actor = actor_of(principal)
    payload = {"case_id": str(case_id), "action": action, "body": body.model_dump(mode="json")}

    async def run(conn: asyncpg.Connection) -> tuple[int, Any]:
        case = await load_case(store, conn, case_id)
        if case is None or not dc.can_see(actor, case):
            raise NotFound("审核案卷", str(case_id))  # outside jurisdiction: do not leak
        event = decide(case, actor, now_utc())
        meta = metadata_of(principal, idempotency_key)
        case = await append_and_project(store, conn, case, [event], meta, case.stream_id)
        return 200, with_late(case_view(case), now_utc())

    async with store.pool.acquire() as conn:
        async with conn.transaction():
            _, response = await run_once(conn, store.schema, principal.user_id, idempotency_key,
                                         payload, lambda: run(conn))
    store.notify_committed()
    return response


async def intake(store: EventStore, conn: asyncpg.Connection, event: InboundEvent,
                 profile: str = DEFAULT_PROFILE) -> None:
    """Consumer handler body: a `*.submitted` event with a submission opens or resubmits a case."""
    if not event.type.endswith(".submitted") or not isinstance(event.data.get("submission"), dict):
        return
    try:
        sub = Submission.model_validate(event.data["submission"])
    except ValidationError as exc:
        raise ValueError(f"{event.type} {event.id}: bad submission: {exc}") from exc
    await intake_submission(store, conn, sub, _inbound_metadata(event), now_utc(), profile)


async def intake_submission(store: EventStore, conn: asyncpg.Connection, sub: Submission,
                            metadata: dict[str, Any], now: datetime,
                            profile: str = DEFAULT_PROFILE) -> ReviewCase | None:
    """Open a case, resubmit it, or (duplicate revision) do nothing. Returns the case."""
    case_id = case_id_for(sub.subject_kind, sub.subject_id)
    case = await load_case(store, conn, case_id)
    if case is None:
        chain = await current_chain(conn, store.schema, sub.subject_kind, profile)
        if chain is None:  # poison for this service: the consumer retries, then dead-letters
            raise ValueError(f"no review chain configured for {sub.subject_kind!r}")
        opened = dc.open_case(case_id, sub, chain, now)
        return await append_and_project(store, conn, None, [opened], metadata,
                                        f"case-{case_id}")
    event = dc.resubmit(case, sub, now)
    if event is None:
        log.info("duplicate submission %s rev %s ignored", sub.subject_id, sub.revision)
        return case
    return await append_and_project(store, conn, case, [event], metadata, case.stream_id)


def _inbound_metadata(event: InboundEvent) -> dict[str, Any]:
    m = event.metadata
    return {"actor": m.get("actor"), "actor_name": m.get("actor_name"), "role": m.get("role"),
            "division": m.get("division"), "device": m.get("device"),
            "causation_id": str(event.id), "correlation_id": m.get("correlation_id")}
