"""Reactions to the review chain (topic workflow.events) for households and area corrections.

Handlers register per payload class; the consumer wants exactly their types. A household or
an area correction follows each case event through the shared lifecycle (events about another
revision change nothing): it records the step (`review_followed`, with the lifecycle state if
it moved) and raises its own returned/accepted event, in the consumer's transaction.
"""
from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

from gx_contracts.events import decode as decode_payload
from gx_contracts.events.base import EventPayload
from gx_contracts.events.population import AREA_CORRECTION_KIND, SUBJECT_KIND
from gx_contracts.events.workflow import CaseOpened
from gx_contracts.lifecycle import REVIEW_EVENTS, concerns
from gx_kernel.kafka import InboundEvent
from gx_kernel.service import ServiceRuntime
from gx_kernel.uow import UnitOfWork

from gx_population.adapters import repo
from gx_population.application import household_projections
from gx_population.application.access import projections
from gx_population.domain.area_correction import AreaCorrection
from gx_population.domain.household import Household, review_step

log = logging.getLogger(__name__)

Handler = Callable[[UnitOfWork, Any, EventPayload, InboundEvent], Awaitable[None]]
HANDLERS: dict[type[EventPayload], Handler] = {}
KINDS = (SUBJECT_KIND, AREA_CORRECTION_KIND)


def handles(*models: type[EventPayload]) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        for model in models:
            HANDLERS[model] = fn
        return fn
    return register


def wants(event_type: str) -> bool:
    return event_type in {model.EVENT_TYPE for model in HANDLERS}


_mine = [concerns(k) for k in KINDS]


def accepts(event: Any) -> bool:
    """Review events about other domains' cases: passed without a transaction."""
    return any(c(event) for c in _mine)


def reaction_metadata(inbound: dict[str, Any], event_id: Any) -> dict[str, Any]:
    meta = {k: inbound.get(k) for k in ("actor", "actor_name", "role", "division", "device",
                                        "correlation_id")}
    meta["causation_id"] = str(event_id)
    return meta


@handles(*REVIEW_EVENTS)
async def follow_review(uow: UnitOfWork, subject: Any, payload: EventPayload,
                        event: InboundEvent) -> None:
    step = review_step(event.id, event.type, event.time, event.data,
                       event.metadata.get("actor_name"))
    subject.follow(payload, step)
    uow.add(subject, reaction_metadata(event.metadata, event.id))
    await uow.flush()


async def _load(conn: asyncpg.Connection, s: str, kind: str,
                subject_id: uuid.UUID) -> Household | AreaCorrection | None:
    if kind == SUBJECT_KIND:
        row = await repo.household(conn, s, subject_id, lock=True)
        if row is None:
            return None
        household_projections.remember(conn, row)  # its projections fold onto this row
        return Household.from_row(row)
    area = await conn.fetchval(f"SELECT area_id FROM {s}.areas WHERE correction_id = $1",
                               subject_id)
    row = await repo.area(conn, s, area, lock=True) if area else None
    return AreaCorrection.from_row(row) if row else None


def make_handler(rt: ServiceRuntime) -> Callable[[asyncpg.Connection, InboundEvent],
                                                  Awaitable[None]]:
    async def handle(conn: asyncpg.Connection, event: InboundEvent) -> None:
        if not wants(event.type):
            return
        payload = decode_payload(event.type, event.schema_version, event.data)
        subject = payload.submission if isinstance(payload, CaseOpened) else payload
        kind = getattr(subject, "subject_kind", None)
        if kind not in KINDS:
            return
        try:
            subject_id = uuid.UUID(subject.subject_id)  # type: ignore[union-attr]
        except ValueError:
            log.warning("workflow event %s names a malformed %s id", event.id, kind)
            return
        s = rt.settings.schema
        aggregate = await _load(conn, s, str(kind), subject_id)
        if aggregate is None:
            log.warning("workflow event %s for an unknown %s ignored", event.id, kind)
            return
        async with UnitOfWork.for_connection(conn, rt.store, projections=projections(s)) as uow:
            await HANDLERS[type(payload)](uow, aggregate, payload, event)
    return handle
