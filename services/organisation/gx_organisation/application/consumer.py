"""Reactions to the review chain (topic workflow.events) for progress reports.

Inbound events decode through the contracts' registry; handlers register per payload class
and the consumer wants exactly their types. The report records every case event about it as
`organisation.progress_report.review_followed` (its history, and its lifecycle state when it
moved), so its read model comes from its own stream; it follows the event through the shared
lifecycle (events about an older revision change nothing).
"""
from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable

import asyncpg

from gx_contracts.events import decode as decode_payload
from gx_contracts.events.base import EventPayload
from gx_contracts.events.organisation import SUBJECT_KIND, ProgressReportReviewStep
from gx_contracts.events.workflow import CaseOpened, CaseOverdue
from gx_contracts.lifecycle import REVIEW_EVENTS, concerns
from gx_kernel.kafka import InboundEvent
from gx_kernel.service import ServiceRuntime
from gx_kernel.uow import UnitOfWork

from gx_organisation.application.access import reaction_metadata
from gx_organisation.application.progress import _decoded
from gx_organisation.application.projections import projections
from gx_organisation.domain.progress_report import ProgressReport

log = logging.getLogger(__name__)

Handler = Callable[[UnitOfWork, ProgressReport, EventPayload, InboundEvent], Awaitable[None]]
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


@handles(*REVIEW_EVENTS, CaseOverdue)
async def follow_review(uow: UnitOfWork, report: ProgressReport, payload: EventPayload,
                        event: InboundEvent) -> None:
    """The report records the step (its history) and follows it (overdue: history only)."""
    report.follow(payload, step_of(payload, event))
    uow.add(report, reaction_metadata(event.metadata, event.id))
    await uow.flush()


def step_of(payload: EventPayload, event: InboundEvent) -> ProgressReportReviewStep:
    data = payload.model_dump(mode="json")
    level = data.get("level") or data.get("from_level")
    comment = data.get("comment") or data.get("reason")
    name = event.metadata.get("actor_name")
    return ProgressReportReviewStep(event_id=event.id, type=event.type, at=event.time,
                      actor_name=str(name)[:200] if name else None, level=level,
                      comment=str(comment)[:1000] if comment else None)


def make_handler(rt: ServiceRuntime) -> Callable[[asyncpg.Connection, InboundEvent],
                                                 Awaitable[None]]:
    """The consumer's handler, bound to the runtime (its store and schema)."""
    async def handle(conn: asyncpg.Connection, event: InboundEvent) -> None:
        if not wants(event.type):
            return
        payload = decode_payload(event.type, event.schema_version, event.data)
        subject = payload.submission if isinstance(payload, CaseOpened) else payload
        if subject.subject_kind != SUBJECT_KIND:
            return
        try:
            report_id = uuid.UUID(subject.subject_id)
        except ValueError:
            log.warning("workflow event %s names a malformed progress report id", event.id)
            return
        s = rt.settings.schema
        row = await conn.fetchrow(f"SELECT * FROM {s}.progress_reports WHERE report_id = $1 "
                                  f"FOR UPDATE", report_id)
        if row is None:
            log.warning("workflow event %s for unknown progress report %s", event.id, report_id)
            return
        async with UnitOfWork.for_connection(conn, rt.store, projections=projections(s)) as uow:
            await HANDLERS[type(payload)](uow, ProgressReport.from_row(_decoded(row)), payload,
                                          event)
    return handle
