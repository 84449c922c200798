"""Reactions to the review chain (topic workflow.events) for households.

Handlers register per payload class; the consumer wants exactly their types. The household
aggregate follows each case event through the shared lifecycle (events about another revision
change nothing), raising its own returned/accepted events, in the consumer's transaction.
"""
from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

from gx_contracts.events import decode as decode_payload
from gx_contracts.events.base import EventPayload
from gx_contracts.events.population import SUBJECT_KIND
from gx_contracts.events.workflow import CaseOpened
from gx_contracts.lifecycle import REVIEW_EVENTS, concerns
from gx_kernel.kafka import InboundEvent
from gx_kernel.service import ServiceRuntime
from gx_kernel.uow import UnitOfWork

from gx_population.adapters import repo
from gx_population.application.projections import projections
from gx_population.domain.household import Household

log = logging.getLogger(__name__)

Handler = Callable[[UnitOfWork, Household, EventPayload, InboundEvent], Awaitable[None]]
HANDLERS: dict[type[EventPayload], Handler] = {}


def handles(*models: type[EventPayload]) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        for model in models:
            HANDLERS[model] = fn
        return fn
    return register


def wants(event_type: str) -> bool:
    return event_type in {model.EVENT_TYPE for model in HANDLERS}


# Review events about other domains' cases: passed without a transaction.
accepts = concerns(SUBJECT_KIND)


def reaction_metadata(inbound: dict[str, Any], event_id: Any) -> dict[str, Any]:
    meta = {k: inbound.get(k) for k in ("actor", "actor_name", "role", "division", "device",
                                        "correlation_id")}
    meta["causation_id"] = str(event_id)
    return meta


@handles(*REVIEW_EVENTS)
async def follow_review(uow: UnitOfWork, hh: Household, payload: EventPayload,
                        event: InboundEvent) -> None:
    hh.follow(payload)  # type: ignore[arg-type]
    uow.add(hh, reaction_metadata(event.metadata, event.id))
    await uow.flush()
    await repo.save_state(uow.conn, uow.store.schema, hh.household_id, hh.stage, hh.state,
                          hh.readback_version)


def make_handler(rt: ServiceRuntime) -> Callable[[asyncpg.Connection, InboundEvent],
                                                  Awaitable[None]]:
    async def handle(conn: asyncpg.Connection, event: InboundEvent) -> None:
        if not wants(event.type):
            return
        payload = decode_payload(event.type, event.schema_version, event.data)
        subject = payload.submission if isinstance(payload, CaseOpened) else payload
        if getattr(subject, "subject_kind", None) != SUBJECT_KIND:
            return
        try:
            household_id = uuid.UUID(subject.subject_id)  # type: ignore[union-attr]
        except ValueError:
            log.warning("workflow event %s names a malformed household id", event.id)
            return
        s = rt.settings.schema
        row = await repo.household(conn, s, household_id, lock=True)
        if row is None:
            log.warning("workflow event %s for an unknown household ignored", event.id)
            return
        async with UnitOfWork.for_connection(conn, rt.store, projections=projections(s)) as uow:
            await HANDLERS[type(payload)](uow, Household.from_row(row), payload, event)
    return handle
