"""Command handlers and the submission intake: load the case, decide, record in a unit of work.

The kernel's `UnitOfWork` opens the transaction (or joins the consumer's), keeps the
idempotency record, appends the decided events, runs the registered projectors (the `cases`
read model, application/projection.py) in the same transaction and wakes the relay only after
the commit. Nothing here calls the store's notify by hand.
"""
from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from gx_contracts.events.base import EventPayload, Submission, event_fields
from gx_contracts.ids import case_id_for
from gx_kernel.errors import NotFound
from gx_kernel.eventstore import NewEvent
from gx_kernel.identity import Principal
from gx_kernel.projections import ProjectionRegistry
from gx_kernel.uow import AfterCommit, IdempotencyKey, UnitOfWork

from gx_workflow.adapters.schema import current_chain
from gx_workflow.application.projection import case_view, prior_state, projections_for
from gx_workflow.application.queries import with_late
from gx_workflow.domain import commands as dc
from gx_workflow.domain.case import ReviewCase, case_stream_id
from gx_workflow.domain.chains import DEFAULT_PROFILE, ChainConfig

log = logging.getLogger(__name__)
Decide = Callable[[ReviewCase, dc.Actor, datetime], EventPayload]
# The chain a new case of a kind follows: (conn, store schema, kind, profile) -> config.
ChainSource = Callable[[Any, str, str, str], Awaitable[ChainConfig | None]]
UnitOfWorkFactory = Callable[..., UnitOfWork]


def now_utc() -> datetime:
    return datetime.now(UTC)


def actor_of(p: Principal) -> dc.Actor:
    return dc.Actor(user_id=p.user_id, role=p.role, scope=p.scope, device=p.device_id)


def metadata_of(p: Principal, causation: str | None) -> dict[str, Any]:
    # actor_name is what people read: the 姓名 when the gateway signed one, else the username
    return {"actor": p.user_id, "actor_name": p.name or p.username, "role": p.role,
            "division": p.scope, "device": p.device_id, "causation_id": causation}


async def load_case(store: Any, conn: Any, case_id: UUID) -> ReviewCase | None:
    return ReviewCase.replay(await store.read_stream(case_stream_id(case_id), conn=conn))


async def record(uow: UnitOfWork, case: ReviewCase | None, payloads: list[EventPayload],
                 metadata: dict[str, Any], stream_id: str) -> ReviewCase:
    """Append the decided events in the unit of work (projected there); the case after them."""
    uow.collect(stream_id, case.version if case else 0,
                [NewEvent(**event_fields(p)) for p in payloads], metadata)
    with prior_state(stream_id, case):  # the projector folds onto it, no second read
        stored = await uow.flush()
    for e in stored:
        case = case.apply(e) if case else ReviewCase.replay([e])
    assert case is not None
    return case


async def act(store: Any, principal: Principal, case_id: UUID, action: str, body: Any,
              idempotency_key: str | None, decide: Decide, *,
              projections: ProjectionRegistry | None = None,
              unit_of_work: UnitOfWorkFactory = UnitOfWork) -> dict[str, Any]:
    """Run a reviewer's action once per idempotency key; return the updated case view."""
    actor = actor_of(principal)
    payload = {"case_id": str(case_id), "action": action, "body": body.model_dump(mode="json")}
    key = IdempotencyKey(principal.user_id, idempotency_key, payload)
    async with unit_of_work(store, projections=_registry(store, projections),
                            idempotency=key) as uow:
        if uow.replayed:
            return uow.replayed[1]
        case = await load_case(store, uow.conn, case_id)
        if case is None or not dc.can_see(actor, case):
            raise NotFound("审核案卷", str(case_id))  # outside jurisdiction: do not leak
        event = decide(case, actor, now_utc())
        case = await record(uow, case, [event], metadata_of(principal, idempotency_key),
                            case.stream_id)
        _, view = uow.respond(200, with_late(case_view(case), now_utc()))
    return view


async def intake_submission(store: Any, conn: Any, sub: Submission, metadata: dict[str, Any],
                            now: datetime, profile: str = DEFAULT_PROFILE, *,
                            projections: ProjectionRegistry | None = None,
                            chains: ChainSource = current_chain,
                            after_commit: AfterCommit | None = None) -> ReviewCase | None:
    """Open a case, resubmit it, or (duplicate revision) do nothing, inside the caller's
    transaction `conn` (the consumer's). Returns the case.

    The relay is woken through `after_commit`, by default the consumer's scope; a caller
    outside a consumer without one leaves the events to the relay's poll."""
    hooks = after_commit or AfterCommit.current() or AfterCommit()
    async with UnitOfWork.for_connection(conn, store, projections=_registry(store, projections),
                                         after_commit=hooks) as uow:
        case_id = case_id_for(sub.subject_kind, sub.subject_id)
        case = await load_case(store, uow.conn, case_id)
        if case is None:
            chain = await chains(uow.conn, store.schema, sub.subject_kind, profile)
            if chain is None:  # poison for this service: the consumer dead-letters it
                raise ValueError(f"no review chain configured for {sub.subject_kind!r}")
            opened = dc.open_case(case_id, sub, chain, now)
            return await record(uow, None, [opened], metadata, case_stream_id(case_id))
        event = dc.resubmit(case, sub, now)
        if event is None:
            log.info("duplicate submission %s rev %s ignored", sub.subject_id, sub.revision)
            return case
        return await record(uow, case, [event], metadata, case.stream_id)


def _registry(store: Any, projections: ProjectionRegistry | None) -> ProjectionRegistry:
    return projections if projections is not None else projections_for(store.schema)
