"""Reactions to the review chain (topic workflow.events) for agricultural reports.

Every case event about an `agri.report` is kept in `review_log` (for the report's history);
the state changes of the report follow only events of its current revision, so a late event
about an older submission never reopens or closes the newer one.
"""
from __future__ import annotations

import logging
import re
import uuid
from typing import Any, Callable

import asyncpg

from gx_contracts.divisions import Level
from gx_contracts.events.agri import SUBJECT_KIND, ReportAccepted, ReportReturned
from gx_contracts.events.base import event_fields
from gx_kernel.eventstore import NewEvent
from gx_kernel.kafka import InboundEvent
from gx_kernel.service import ServiceRuntime

from gx_agri.adapters import repo
from gx_agri.domain import report as rep
from gx_agri.domain.catalogue import default_catalogue

log = logging.getLogger(__name__)
_REASON_CODE = re.compile(r"^R[0-9]{2}$")


def _subject(event: InboundEvent) -> tuple[str | None, str | None, int | None]:
    data = event.data
    sub = data.get("submission") or {}
    kind = data.get("subject_kind") or sub.get("subject_kind")
    subject = data.get("subject_id") or sub.get("subject_id")
    revision = data.get("revision") or sub.get("revision")
    return kind, subject, revision


def make_handler(get_rt: Callable[[], ServiceRuntime]):
    async def handle(conn: asyncpg.Connection, event: InboundEvent) -> None:
        if not event.type.startswith("workflow.case."):
            return
        kind, subject, revision = _subject(event)
        if kind != SUBJECT_KIND or not subject:
            return
        try:
            report_id = uuid.UUID(subject)
        except ValueError:
            log.warning("workflow event %s names a malformed report id", event.id)
            return
        rt = get_rt()
        s = rt.settings.schema
        row = await repo.report(conn, s, report_id, lock=True)
        if row is None:
            log.warning("workflow event %s for unknown report %s ignored", event.id, report_id)
            return
        await repo.log_review_event(conn, s, event.id, report_id, event.type, event.data,
                                    event.metadata, event.time)
        if revision != row["revision"]:
            return  # about an older submission: history only
        await _apply(rt, conn, s, row, event)
        rt.store.notify_committed()
    return handle


async def _apply(rt: ServiceRuntime, conn, s: str, row: dict[str, Any], event: InboundEvent):
    d, rid = event.data, row["report_id"]
    case_id = d.get("case_id")
    if event.type in ("workflow.case.opened", "workflow.case.resubmitted"):
        await repo.update_report(conn, s, rid, case_id=uuid.UUID(case_id), review_level=d["level"])
    elif event.type == "workflow.case.approved":
        await repo.update_report(
            conn, s, rid, review_level=d["to_level"],
            approved_rank=rep.approved_rank_after_approval(row["approved_rank"], d["from_level"]))
    elif event.type == "workflow.case.returned" and d.get("to_level") == Level.village.value:
        if row["status"] not in (rep.SUBMITTED, rep.ACCEPTED):
            return
        notes = _field_notes(row, d.get("field_notes"), event)
        code = d["reason_code"] if _REASON_CODE.match(str(d.get("reason_code"))) else "R99"
        reason = str(d.get("reason") or "")[:1000]
        payload = ReportReturned(report_id=rid, case_id=case_id, revision=row["revision"],
                                 from_level=d["from_level"], reason_code=code, reason=reason,
                                 field_notes=notes)
        stored = await _append(rt, conn, row, payload, event)
        await repo.update_report(
            conn, s, rid, status=rep.RETURNED, version=stored.version, approved_rank=0,
            review_level=None, return_reason_code=code, return_reason=reason,
            return_from_level=d["from_level"], field_notes=notes, accepted_level=None)
    elif event.type == "workflow.case.returned":  # to a lower review level: not accepted any more
        cols: dict[str, Any] = {"review_level": d["to_level"], "approved_rank": max(
            rep.approved_rank_after_return(row["approved_rank"], d["to_level"]), 0)}
        if row["status"] == rep.ACCEPTED:
            cols.update(status=rep.SUBMITTED, accepted_level=None)
        await repo.update_report(conn, s, rid, **cols)
    elif event.type == "workflow.case.accepted" and d.get("final", True) is False:
        if row["status"] != rep.SUBMITTED:
            return
        payload = ReportAccepted(report_id=rid, case_id=case_id, revision=row["revision"],
                                 level=d["level"], final=False, next_level=d.get("next_level"))
        stored = await _append(rt, conn, row, payload, event)
        await repo.update_report(
            conn, s, rid, status=rep.ACCEPTED, version=stored.version,
            approved_rank=rep.approved_rank_after_approval(row["approved_rank"], d["level"]),
            review_level=d.get("next_level"), accepted_level=d["level"])
    elif event.type == "workflow.case.accepted":
        if row["status"] not in (rep.SUBMITTED, rep.ACCEPTED):
            return
        payload = ReportAccepted(report_id=rid, case_id=case_id, revision=row["revision"],
                                 level=d["level"], final=True, accepted_level=row["accepted_level"])
        stored = await _append(rt, conn, row, payload, event)
        await repo.update_report(conn, s, rid, status=rep.CONFIRMED, version=stored.version,
                                 approved_rank=Level.region.rank, review_level=None,
                                 confirmed_level=d["level"])
    elif event.type == "workflow.case.reopened":
        await repo.update_report(conn, s, rid, status=rep.SUBMITTED, review_level=d["level"],
                                 approved_rank=max(Level(d["level"]).rank - 1, 0),
                                 accepted_level=None, confirmed_level=None)


def _field_notes(row: dict[str, Any], notes: Any, event: InboundEvent) -> dict[str, str]:
    """The notes on this report's indicators (the workflow checks them; never stall on one)."""
    form = default_catalogue().get(row["form_code"], row["form_version"])
    if not isinstance(notes, dict):
        return {}
    kept = {k: v[:500] for k, v in notes.items()
            if isinstance(v, str) and form is not None and form.indicator(k) is not None}
    if len(kept) != len(notes):
        log.warning("workflow event %s: %d field notes not on indicators of %s v%s dropped",
                    event.id, len(notes) - len(kept), row["form_code"], row["form_version"])
    return kept


async def _append(rt, conn, row, payload, event: InboundEvent):
    meta = {k: event.metadata.get(k) for k in ("actor", "actor_name", "role", "division",
                                                "device", "correlation_id")}
    meta["causation_id"] = str(event.id)
    stored = await rt.store.append(f"report-{row['report_id']}", row["version"],
                                   [NewEvent(**event_fields(payload))], meta, conn=conn)
    return stored[-1]
