"""Read models of the agri service, projected from its own events alone.

Units of work run them in the writer's transaction; `python -m gx_kernel.projections
--schema S gx_agri.application.projections:projections` rebuilds them from agri's stream
(the division tree is reference data, not a read model). A report row is the report
aggregate folded over its events (`Report.load`, typed payloads through the contracts'
decode): the review moves it follows are its own `agri.report.review_followed` events, so no
state is written beside the events. `review_log` (the report's review history) holds the
review-chain events those events carry.
"""
from __future__ import annotations

import functools
import json
import uuid
from collections.abc import Sequence
from typing import Any

from gx_contracts.divisions import prefix_of
from gx_contracts.events import decode
from gx_contracts.events.agri import (
    ReportHistoryAdopted,
    ReportReviewFollowed,
    ReportSubmitted,
    ReviewStep,
    TaskPublished,
)
from gx_contracts.ids import report_id_for
from gx_kernel.eventstore import StoredEvent
from gx_kernel.projections import ProjectionRegistry

from gx_agri.adapters import repo
from gx_agri.domain.report import OWN_EVENTS, Report

READ_MODELS = ("tasks", "reports", "review_log")
REPORT_EVENT_TYPES = tuple(model.EVENT_TYPE for model in OWN_EVENTS)
HISTORY_EVENT_TYPES = (ReportReviewFollowed.EVENT_TYPE, ReportHistoryAdopted.EVENT_TYPE)


class ProjectionMismatch(RuntimeError):
    """A report event without its report row, or out of order with it (never expected)."""


@functools.cache
def projections(s: str) -> ProjectionRegistry:
    """The projectors of the agri read models in schema `s`."""
    registry = ProjectionRegistry()

    @registry.reset
    async def reset(conn: Any) -> None:
        await conn.execute("TRUNCATE " + ", ".join(f"{s}.{t}" for t in READ_MODELS))

    # registered first: a batch's tasks (and their report rows) exist before its reports fold
    @registry.on(TaskPublished.EVENT_TYPE)
    async def task_published(conn: Any, e: StoredEvent) -> None:
        t = decode(e.type, e.schema_version, e.data)
        assert isinstance(t, TaskPublished)
        prefix = prefix_of(t.scope_division)
        villages = await repo.villages_under(conn, s, prefix)
        await repo.insert_task(conn, s, {
            "task_id": t.task_id, "form_code": t.form_code, "form_version": t.form_version,
            "period": t.period, "title": t.title, "scope_division": t.scope_division,
            "scope_prefix": prefix, "deadline": t.deadline, "published_by": t.published_by,
            "village_count": len(villages), "version": e.version,
            "published_at": e.recorded_at})
        await repo.copy_reports(conn, s, [
            (report_id_for(t.task_id, v["code"]), t.task_id, v["code"], t.form_code,
             t.form_version, t.period, e.recorded_at) for v in villages])

    @registry.batch(*REPORT_EVENT_TYPES)
    async def reports(conn: Any, events: Sequence[StoredEvent]) -> None:
        by_report: dict[uuid.UUID, list[StoredEvent]] = {}
        for e in events:
            by_report.setdefault(_uuid(e.data["report_id"]), []).append(e)
        rows = await repo.reports_by_id(conn, s, list(by_report))
        await repo.save_reports(conn, s, [_row(rows.get(rid), rid, mine)
                                          for rid, mine in by_report.items()])

    @registry.batch(*HISTORY_EVENT_TYPES)
    async def review_log(conn: Any, events: Sequence[StoredEvent]) -> None:
        rows: list[tuple[Any, ...]] = []
        for e in events:
            payload = decode(e.type, e.schema_version, e.data)
            steps = (payload.review if isinstance(payload, ReportHistoryAdopted)
                     else [payload.review] if isinstance(payload, ReportReviewFollowed) else [])
            rows += [_log_row(payload.report_id, step) for step in steps]  # type: ignore[attr-defined]
        await repo.log_review_steps(conn, s, rows)

    return registry


def _row(row: dict[str, Any] | None, report_id: uuid.UUID,
         events: list[StoredEvent]) -> tuple[Any, ...]:
    """The report row after `events`: the aggregate folded from the row before them."""
    if row is None:
        raise ProjectionMismatch(f"report {report_id}: events without a report row")
    if row["version"] != events[0].version - 1:
        raise ProjectionMismatch(f"report {report_id}: row at version {row['version']}, "
                                 f"next event at {events[0].version}")
    report = Report.load(Report.from_row(row), events)
    submitted_at = next((e.recorded_at for e in reversed(events)
                         if e.type == ReportSubmitted.EVENT_TYPE), row["submitted_at"])
    st, back = report.state, report.last_return
    return (report_id, st.status.value, events[-1].version, st.revision,
            json.dumps(report.values, ensure_ascii=False),
            json.dumps(report.explanations, ensure_ascii=False), st.case_id,
            st.approved_rank, _value(st.review_level),
            back.reason_code if back else None, back.reason if back else None,
            back.from_level.value if back else None,
            json.dumps(back.field_notes if back else {}, ensure_ascii=False),
            submitted_at, events[-1].recorded_at, _value(st.accepted_level),
            _value(st.confirmed_level))


def _log_row(report_id: uuid.UUID, step: ReviewStep) -> tuple[Any, ...]:
    return (step.event_id, report_id, step.type, json.dumps(step.data, ensure_ascii=False),
            json.dumps(step.metadata, ensure_ascii=False), step.at)


def _value(level: Any) -> str | None:
    return level.value if level is not None else None


def _uuid(value: Any) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
