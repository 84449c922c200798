"""Read models of the agri service, projected from its own events alone.

Units of work run them in the writer's transaction; `python -m gx_kernel.projections
--schema S gx_agri.application.projections:projections` rebuilds them from agri's stream
(the division tree is reference data, not a read model). A report row is the report
aggregate folded over its events (`Report.load`, typed payloads through the contracts'
decode): the review moves it follows are its own `agri.report.review_followed` events, so no
state is written beside the events. `review_log` (the report's review history) holds the
review-chain events those events carry. A rebuild keeps the report aggregates in memory
across its batches and writes each row once (`projections_rebuild`).
"""
from __future__ import annotations

import functools
import logging
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from gx_contracts.divisions import prefix_of
from gx_contracts.events import decode
from gx_contracts.events.agri import (
    ReportHistoryAdopted,
    ReportReviewFollowed,
    ReportSubmitted,
    TaskPublished,
)
from gx_contracts.events.trusted import trusted_replay
from gx_contracts.ids import report_id_for
from gx_kernel.eventstore import StoredEvent
from gx_kernel.projections import EVENT_COLUMNS, ProjectionRegistry, event_from_row

from gx_agri.adapters import rebuild_sql, repo
from gx_agri.application import projections_rebuild as rebuilding
from gx_agri.application.projections_rebuild import dumps as _dumps
from gx_agri.application.projections_rebuild import report_columns
from gx_agri.domain.report import OWN_EVENTS, Report

log = logging.getLogger(__name__)
READ_MODELS = ("tasks", "reports", "review_log")
REPORT_EVENT_TYPES = tuple(model.EVENT_TYPE for model in OWN_EVENTS)
HISTORY_EVENT_TYPES = (ReportReviewFollowed.EVENT_TYPE, ReportHistoryAdopted.EVENT_TYPE)


class ProjectionMismatch(RuntimeError):
    """A report event without its report row, or out of order with it (never expected)."""


@functools.cache
def projections(s: str) -> ProjectionRegistry:
    """The projectors of the agri read models in schema `s`."""
    registry = ProjectionRegistry()
    registry.during_rebuild(trusted_replay)  # our own events: decoded without re-checking
    # a rebuild takes the review history from the stored events inside PostgreSQL: the
    # report's fold reads only the standing a review step moved it to (most of the bytes
    # of agri's stream are the steps' data and metadata)
    registry.read_during_rebuild(ReportReviewFollowed.EVENT_TYPE,
                                 "jsonb_set(data, '{review,data}', '{}') #- '{review,metadata}'")

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
        rows = [(report_id_for(t.task_id, v["code"]), t.task_id, v["code"], t.form_code,
                 t.form_version, t.period, e.recorded_at) for v in villages]
        kept = rebuilding.kept_reports(s)
        if kept is None:
            await repo.copy_reports(conn, s, rows)
        else:  # a rebuild: written once folded (`finish`)
            rebuilding.not_started(kept, rows)

    @registry.batch(*REPORT_EVENT_TYPES)
    async def reports(conn: Any, events: Sequence[StoredEvent]) -> None:
        by_stream: dict[str, list[StoredEvent]] = {}
        for e in events:  # report-<uuid>: one stream per report
            by_stream.setdefault(e.stream_id, []).append(e)
        by_report = {_uuid(mine[0].data["report_id"]): mine for mine in by_stream.values()}
        kept = rebuilding.kept_reports(s)
        if kept is not None:
            await rebuilding.fold(conn, s, kept, by_report, _streams, _mismatch)
            return
        rows = await repo.reports_by_id(conn, s, list(by_report))
        missing = [rid for rid in by_report if rid not in rows]
        if missing:
            raise _mismatch(missing)
        # a row not at the version right before its events: folded again from its whole stream
        behind = {mine[0].stream_id: mine[-1].version for rid, mine in by_report.items()
                  if rows[rid]["version"] != mine[0].version - 1}
        if behind:
            log.warning("%d report rows behind their streams: folded from the streams",
                        len(behind))
            whole = await _streams(conn, s, behind)
            for rid, mine in list(by_report.items()):
                if mine[0].stream_id in behind:
                    by_report[rid] = whole[mine[0].stream_id]
                    rows[rid] = {**rows[rid], "version": 0, "submitted_at": None}
        await repo.save_reports(conn, s, [_row(rows[rid], rid, mine)
                                          for rid, mine in by_report.items()])

    @registry.finish
    async def write_kept(conn: Any) -> None:
        kept = rebuilding.kept_reports(s)
        if kept:
            await rebuilding.flush(conn, s, kept)

    @registry.batch(*HISTORY_EVENT_TYPES)
    async def review_log(conn: Any, events: Sequence[StoredEvent]) -> None:
        if rebuilding.kept_reports(s) is not None:  # a rebuild: the steps' JSON stays in SQL
            await rebuild_sql.log_review_steps_of(conn, s, [e.id for e in events],
                                                  ReportHistoryAdopted.EVENT_TYPE)
            return
        # the steps as stored (validated when raised): no payload objects needed to copy them
        rows = [_log_row(e.data["report_id"], step) for e in events
                for step in (e.data["review"] if e.type == ReportHistoryAdopted.EVENT_TYPE
                             else [e.data["review"]])]
        await repo.log_review_steps(conn, s, rows)

    return registry


async def _streams(conn: Any, s: str, upto: dict[str, int]) -> dict[str, list[StoredEvent]]:
    """These streams' events up to the given versions (read in this transaction)."""
    rows = await conn.fetch(
        f"SELECT {EVENT_COLUMNS} FROM {s}.events WHERE stream_id = ANY($1::text[])"
        f" ORDER BY stream_id, version", list(upto))
    found: dict[str, list[StoredEvent]] = {}
    for r in rows:
        if r["version"] <= upto[r["stream_id"]]:
            found.setdefault(r["stream_id"], []).append(event_from_row(r))
    return found


def _row(row: dict[str, Any], report_id: uuid.UUID,
         events: list[StoredEvent]) -> tuple[Any, ...]:
    """The report row after `events`: the aggregate folded from the row before them (its
    head only, when `events` is the whole stream)."""
    base = Report.from_row(row) if row["version"] else Report.from_row(row).head()
    report = Report.load(base, events)
    submitted_at = next((e.recorded_at for e in reversed(events)
                         if e.type == ReportSubmitted.EVENT_TYPE), row["submitted_at"])
    cols = report_columns(report, events[-1].version, submitted_at, events[-1].recorded_at)
    return (report_id, *cols[1:])


def _mismatch(missing: list[uuid.UUID]) -> ProjectionMismatch:
    return ProjectionMismatch(f"report events without a report row: {missing[:5]}")


def _log_row(report_id: str, step: dict[str, Any]) -> tuple[Any, ...]:
    """A review_log row from a stored `ReviewStep` (its JSON form; ids as text, as the driver
    takes them)."""
    return (str(step["event_id"]), str(report_id), step["type"], _dumps(step["data"]),
            _dumps(step.get("metadata") or {}), _datetime(step["at"]))


def _datetime(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def _uuid(value: Any) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
