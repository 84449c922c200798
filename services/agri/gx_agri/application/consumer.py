"""Reactions to the review chain (topic workflow.events) for agricultural reports.

Inbound events decode through the contracts' registry into their payload classes; handlers
register per payload class (`HANDLERS`), and the consumer wants exactly their event types.
The report aggregate, loaded from its stream, follows every case event about an
`agri.report` through the shared lifecycle (which ignores events about an older revision, so
a late event never reopens or closes a newer submission) and records it as its own
`agri.report.review_followed` event: the report's history (`review_log`) and its state are
projected from agri's stream alone.
"""
from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

from gx_contracts.events import decode as decode_payload
from gx_contracts.events.agri import SUBJECT_KIND, ReviewStep
from gx_contracts.events.base import EventPayload
from gx_contracts.events.workflow import CaseOpened, CaseOverdue
from gx_contracts.lifecycle import REVIEW_EVENTS, concerns
from gx_kernel.kafka import InboundEvent
from gx_kernel.service import ServiceRuntime
from gx_kernel.uow import UnitOfWork

from gx_agri.adapters import repo
from gx_agri.application.access import reaction_metadata
from gx_agri.application.projections import projections
from gx_agri.domain import report as rep
from gx_agri.domain.catalogue import default_catalogue

log = logging.getLogger(__name__)

Handler = Callable[[UnitOfWork, rep.Report, EventPayload, InboundEvent], Awaitable[None]]
HANDLERS: dict[type[EventPayload], Handler] = {}
"""payload class -> handler(uow, report, payload, inbound event), run in the consumer's
transaction for an event about one of this service's reports."""


def handles(*models: type[EventPayload]) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        for model in models:
            HANDLERS[model] = fn
        return fn
    return register


def wants(event_type: str) -> bool:
    """Event types worth a transaction: those with a registered handler."""
    return event_type in {model.EVENT_TYPE for model in HANDLERS}


# Review events about other domains' cases: passed without a transaction.
accepts = concerns(SUBJECT_KIND)


def history_data(data: dict[str, Any]) -> dict[str, Any]:
    """The review event's data as the report's history keeps it: without the form's field
    labels (the form's own, up to 500 of them), so the report's event stays well below the
    event size limit that the review event itself met."""
    kept = {k: v for k, v in data.items() if k != "field_labels"}
    if isinstance(kept.get("submission"), dict):
        kept["submission"] = {k: v for k, v in kept["submission"].items()
                              if k != "field_labels"}
    return kept


@handles(*REVIEW_EVENTS, CaseOverdue)
async def follow_review(uow: UnitOfWork, report: rep.Report, payload: EventPayload,
                        event: InboundEvent) -> None:
    form = default_catalogue().get(report.form_code, report.form_version)
    dropped: list[str] = []

    def on_form(code: str) -> bool:  # the workflow checks the notes; never stall on one
        kept = form is not None and form.indicator(code) is not None
        if not kept:
            dropped.append(code)
        return kept

    step = ReviewStep(event_id=event.id, type=event.type, schema_version=event.schema_version,
                      data=history_data(event.data), metadata=event.metadata, at=event.time)
    report.follow(payload, on_form, step)
    if dropped:
        log.warning("workflow event %s: %d field notes not on indicators of %s v%s dropped",
                    event.id, len(dropped), report.form_code, report.form_version)
    uow.add(report, reaction_metadata(event.metadata, event.id))
    await uow.flush()  # appended and projected (row, review_log) in the consumer's transaction


def make_handler(get_rt: Callable[[], ServiceRuntime]):
    async def handle(conn: asyncpg.Connection, event: InboundEvent) -> None:
        if not wants(event.type):
            return
        # upcast from the stored schema version; invalid: dead-lettered with the reason
        payload = decode_payload(event.type, event.schema_version, event.data)
        subject = payload.submission if isinstance(payload, CaseOpened) else payload
        if subject.subject_kind != SUBJECT_KIND:
            return
        try:
            report_id = uuid.UUID(subject.subject_id)
        except ValueError:
            log.warning("workflow event %s names a malformed report id", event.id)
            return
        rt = get_rt()
        s = rt.settings.schema
        row = await repo.report(conn, s, report_id, lock=True)  # its identity; one writer
        if row is None:
            log.warning("workflow event %s for unknown report %s ignored", event.id, report_id)
            return
        head = rep.Report.from_row(row).head()
        report = rep.Report.load(head, await rt.store.read_stream(head.stream_id, conn=conn))
        async with UnitOfWork.for_connection(conn, rt.store, projections=projections(s)) as uow:
            await HANDLERS[type(payload)](uow, report, payload, event)
    return handle
