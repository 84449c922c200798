"""Agri's read models during a rebuild: each report row folded in memory across the batches
and written once.

A rebuild passes every event of agri's stream once, in order, into tables it truncated. The
live projection reads each report row back (its JSON columns parsed), folds the commit's
events onto it and updates it; the task's not-started rows are copied first. Here the
report aggregates stay in `rebuild_scratch` from the task's publication to the end (no read
back, no JSON parse, no UPDATE), and `flush` COPYs each row once, with the columns the live
projection would have written (`report_columns`, shared with it). Past `KEEP_REPORTS` rows
the kept ones are written and forgotten; a report seen again after that is read from its
row as the live projection does. The review history goes from the events to `review_log`
inside PostgreSQL (`adapters.rebuild_sql`): the steps' JSON is never parsed nor re-encoded.
"""
from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

import orjson

from gx_contracts.events.agri import ReportSubmitted
from gx_kernel.eventstore import StoredEvent
from gx_kernel.projections import rebuild_scratch

from gx_agri.adapters import rebuild_sql, repo
from gx_agri.domain.report import Report

KEEP_REPORTS = 250_000  # ~1 KB each: a bound on the rebuild's memory

Streams = Callable[[Any, str, dict[str, int]], Awaitable[dict[str, list[StoredEvent]]]]


class Kept:
    """A report as folded so far in this rebuild, and whether its row is in the table."""

    __slots__ = ("report", "version", "submitted_at", "updated_at", "stored", "dirty")

    def __init__(self, report: Report, version: int, submitted_at: datetime | None,
                 updated_at: datetime, stored: bool) -> None:
        self.report, self.version = report, version
        self.submitted_at, self.updated_at = submitted_at, updated_at
        self.stored, self.dirty = stored, not stored


def kept_reports(s: str) -> dict[uuid.UUID, Kept] | None:
    """The reports kept by the rebuild under way (None: a live unit of work)."""
    return rebuild_scratch(f"gx_agri.reports:{s}")


def report_columns(report: Report, version: int, submitted_at: datetime | None,
                   updated_at: datetime) -> tuple[Any, ...]:
    """The projected columns of a report row (`repo.save_reports`' order; jsonb as text)."""
    st, back = report.state, report.last_return
    return (report.report_id, st.status.value, version, st.revision, dumps(report.values),
            dumps(report.explanations), st.case_id, st.approved_rank, _value(st.review_level),
            back.reason_code if back else None, back.reason if back else None,
            back.from_level.value if back else None, dumps(back.field_notes if back else {}),
            submitted_at, updated_at, _value(st.accepted_level), _value(st.confirmed_level))


def not_started(kept: dict[uuid.UUID, Kept], rows: Sequence[tuple[Any, ...]]) -> None:
    """A task's report rows (`repo.copy_reports`' tuples), kept instead of copied."""
    for rid, task_id, village, form_code, form_version, period, published_at in rows:
        kept[rid] = Kept(Report(rid, task_id, village, form_code, form_version, period), 0,
                         None, published_at, stored=False)


async def fold(conn: Any, s: str, kept: dict[uuid.UUID, Kept],
               by_report: dict[uuid.UUID, list[StoredEvent]], streams: Streams,
               mismatch: Callable[[list[uuid.UUID]], Exception]) -> None:
    """Each report's events folded onto its kept state (else its row's, read as live)."""
    unknown = [rid for rid in by_report if rid not in kept]
    if unknown:  # written and forgotten past KEEP_REPORTS: their rows, as the live path
        rows = await repo.reports_by_id(conn, s, unknown)
        missing = [rid for rid in unknown if rid not in rows]
        if missing:
            raise mismatch(missing)
        for rid, row in rows.items():
            base = Report.from_row(row)
            kept[rid] = Kept(base if row["version"] else base.head(), row["version"],
                             row["submitted_at"], row["updated_at"], stored=True)
    behind = {mine[0].stream_id: mine[-1].version for rid, mine in by_report.items()
              if kept[rid].version != mine[0].version - 1}
    if behind:  # never expected in a rebuild: folded from the whole stream, as live
        whole = await streams(conn, s, behind)
        for rid, mine in list(by_report.items()):
            if mine[0].stream_id in behind:
                by_report[rid] = whole[mine[0].stream_id]
                k = kept[rid]
                k.report, k.submitted_at = k.report.head(), None
    submitted = ReportSubmitted.EVENT_TYPE
    for rid, mine in by_report.items():
        k = kept[rid]
        Report.load(k.report, mine)  # folds in place
        k.version, k.updated_at, k.dirty = mine[-1].version, mine[-1].recorded_at, True
        k.submitted_at = next((e.recorded_at for e in reversed(mine) if e.type == submitted),
                              k.submitted_at)
    if len(kept) > KEEP_REPORTS:
        await flush(conn, s, kept)
        kept.clear()


async def flush(conn: Any, s: str, kept: dict[uuid.UUID, Kept]) -> None:
    """Write the kept reports changed since the last flush: new rows by COPY, rows already
    in the table (read back, or flushed before) by the live projection's UPDATE."""
    new, changed = [], []
    for k in kept.values():
        if not k.dirty:
            continue
        r = k.report
        cols = report_columns(r, k.version, k.submitted_at, k.updated_at)
        if k.stored:
            changed.append(cols)
        else:
            new.append((cols[0], r.task_id, r.village_code, r.form_code, r.form_version,
                        r.period, *cols[1:]))
        k.stored, k.dirty = True, False
    if new:
        await rebuild_sql.copy_report_rows(conn, s, new)
    if changed:
        await repo.save_reports(conn, s, changed)


def dumps(value: Any) -> str:
    """JSON text for a jsonb column."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # e.g. an integer beyond 64 bits
        return json.dumps(value, ensure_ascii=False)


def _value(level: Any) -> str | None:
    return level.value if level is not None else None
