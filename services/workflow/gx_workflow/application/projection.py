"""Projections `cases` (queues, progress) and `case_steps` (history).

Both are pure functions of the case's events: the row of `cases` is the state folded from the
stream, a `case_steps` row is one event with its metadata. `projections_for(schema)` is the
registry the units of work run in the transaction of the append (commands, intake, deadline
scan) and the kernel's rebuild replays.
"""
from __future__ import annotations

import contextlib
import contextvars
import json
from collections.abc import Iterator, Sequence
from functools import cache
from typing import Any

import asyncpg
import orjson

from gx_contracts.divisions import Level
from gx_contracts.events.base import EVENT_TYPES
from gx_contracts.events.trusted import trusted_replay
from gx_kernel.eventstore import StoredEvent
from gx_kernel.projections import (
    EVENT_COLUMNS,
    ProjectionRegistry,
    event_from_row,
    rebuild_scratch,
)

from gx_workflow.adapters.schema import progress_channel
from gx_workflow.application import projections_rebuild as rebuilding
from gx_workflow.domain.case import ReviewCase

_XID = "pg_current_xact_id()::text::bigint"

_ACTIONS = {"workflow.case.opened": "open", "workflow.case.approved": "approve",
            "workflow.case.returned": "return", "workflow.case.resubmitted": "resubmit",
            "workflow.case.accepted": "accept", "workflow.case.reopened": "reopen",
            "workflow.case.overdue": "overdue"}


def case_view(case: ReviewCase) -> dict[str, Any]:
    """The JSON shape of a case in the API (without the query-time `late`)."""
    return {
        "case_id": str(case.case_id), "stream_id": case.stream_id,
        "subject_kind": case.subject_kind, "subject_id": case.subject_id,
        "division_code": case.division_code, "task_id": case.task_id, "title": case.title,
        "revision": case.revision, "chain": [lv.value for lv in case.chain],
        "final_level": case.final_level.value,
        "early_accept_levels": [lv.value for lv in case.early_accept_levels],
        "chain_version": case.chain_version, "status": case.status.value,
        "level": case.level.value, "version": case.version,
        "opened_at": case.opened_at.isoformat(), "arrived_at": case.arrived_at.isoformat(),
        "deadline": case.deadline.isoformat() if case.deadline else None,
        "overdue_recorded": case.late, "sent_back": case.sent_back,
        "accepted_level": case.accepted_level.value if case.accepted_level else None,
        # 已验收 by (e.g. township 数据验收) and 已确认 by (e.g. region 审核确认)
        "accepted_early_by": _value(case.early_accepted_level),
        "confirmed_by": case.accepted_level.value if case.is_final and case.accepted_level
        else None,
        "last_action": case.last_action, "returns": case.returns,
        "field_notes": case.field_notes,
        "watch_levels": [lv.value for lv in case.watch_levels],
        "chain_profile": case.chain_profile,
    }


def _value(level: Level | None) -> str | None:
    return level.value if level else None


def step_row(e: StoredEvent) -> tuple:
    d, m = e.data, e.metadata
    sub = d.get("submission") or {}
    from_level = d.get("from_level") or (d.get("level") if e.type.endswith(("accepted",
                                                                            "overdue")) else None)
    to_level = d.get("to_level") or d.get("next_level") or (
        d.get("level") if e.type.endswith(("opened", "resubmitted", "reopened")) else None)
    return (str(d["case_id"]), e.version, e.id, e.type, _ACTIONS.get(e.type, e.type), e.recorded_at,
            m.get("actor"), m.get("actor_name"), m.get("role"), m.get("division"),
            m.get("device"), from_level, to_level, d.get("revision") or sub.get("revision"),
            d.get("comment") or None, d.get("reason_code"), d.get("reason"),
            _dumps(d.get("field_notes") or {}),
            bool(d.get("final", True)) if e.type == "workflow.case.accepted" else None)


async def project(conn: asyncpg.Connection, schema: str, case: ReviewCase,
                  events: Sequence[StoredEvent]) -> None:
    """Upsert the case row (state after `events`) and add one history step per event."""
    await project_many(conn, schema, [(case, events)])


async def project_many(conn: asyncpg.Connection, schema: str,
                       folded: Sequence[tuple[ReviewCase, Sequence[StoredEvent]]]) -> None:
    """`project` for many cases: two pipelined statements (executemany) for any number."""
    await upsert_cases(conn, schema, [case for case, _ in folded])
    await conn.executemany(
        f"INSERT INTO {schema}.case_steps ({', '.join(STEP_COLUMNS)}) VALUES ($1::uuid,$2,$3,"
        f"$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18::jsonb,$19)",
        [step_row(e) for _, events in folded for e in events])


STEP_COLUMNS = ("case_id", "version", "event_id", "event_type", "action", "at", "actor",
                "actor_name", "role", "division", "device", "from_level", "to_level", "revision",
                "comment", "reason_code", "reason", "field_notes", "final")
CASE_COLUMNS = ("case_id", "subject_kind", "subject_id", "division_code", "task_id", "status",
                "level", "version", "revision", "arrived_at", "opened_at", "deadline", "late",
                "view", "accepted_level")


def case_row(case: ReviewCase) -> tuple[Any, ...]:
    """The projected columns of a case (CASE_COLUMNS; `view` as JSON text)."""
    return (case.case_id, case.subject_kind, case.subject_id, case.division_code, case.task_id,
            case.status.value, case.level.value, case.version, case.revision, case.arrived_at,
            case.opened_at, case.deadline, case.late, _dumps(case_view(case)),
            case.accepted_level.value if case.accepted_level else None)


async def upsert_cases(conn: asyncpg.Connection, schema: str,
                        cases: Sequence[ReviewCase]) -> None:
    channel = progress_channel(schema)
    # changed_tx marks the row for live streams; the NOTIFY (delivered at commit, deduplicated
    # per transaction by PostgreSQL) wakes every replica's progress listeners for this task.
    await conn.executemany(
        f"WITH up AS (INSERT INTO {schema}.cases ({', '.join(CASE_COLUMNS)}, changed_tx) "
        f"VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,{_XID}) "
        f"ON CONFLICT (case_id) DO UPDATE SET status=$6, level=$7, version=$8, revision=$9, "
        f"arrived_at=$10, deadline=$12, late=$13, view=$14, accepted_level=$15, "
        f"changed_tx={_XID} RETURNING 1) "
        f"SELECT pg_notify($16, coalesce($5::text, '')) FROM up",
        [(*case_row(case), channel) for case in cases])


def _dumps(value: Any) -> str:
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # e.g. an integer beyond 64 bits
        return json.dumps(value, ensure_ascii=False)


PROJECTION_TABLES = ("cases", "case_steps")
CASE_EVENT_TYPES = tuple(sorted(t for t in EVENT_TYPES if t.startswith("workflow.case.")))


@cache
def projections_for(schema: str) -> ProjectionRegistry:
    """The read models of the workflow schema `schema`, as projectors of its case events."""
    registry = ProjectionRegistry()
    registry.during_rebuild(trusted_replay)  # our own events: decoded without re-checking

    @registry.batch(*CASE_EVENT_TYPES)
    async def cases(conn: asyncpg.Connection, events: Sequence[StoredEvent]) -> None:
        by_stream: dict[str, list[StoredEvent]] = {}
        for e in events:
            by_stream.setdefault(e.stream_id, []).append(e)
        kept = rebuild_scratch("gx_workflow.cases")  # a rebuild: the cases folded so far
        folded = {s: c for s, es in by_stream.items() if (c := _from_prior(s, es, kept))}
        missing = {s: es[-1].version for s, es in by_stream.items() if s not in folded}
        if missing:
            folded |= await _fold(conn, schema, missing)
        rows = rebuilding.waiting(schema)
        if rows is None:
            await project_many(conn, schema, [(folded[s], mine) for s, mine in by_stream.items()])
        else:  # a rebuild: steps by COPY, each case row written once (`finish`)
            await rebuilding.keep(conn, schema, rows, folded, by_stream)
        if kept is not None:
            if len(kept) > _KEEP_CASES:
                kept.clear()  # bounded: a case seen again later is read from the store
            kept.update(folded)

    @registry.finish
    async def write_waiting(conn: asyncpg.Connection) -> None:
        rows = rebuilding.waiting(schema)
        if rows:
            await rebuilding.flush(conn, schema, rows)

    @registry.reset
    async def reset(conn: asyncpg.Connection) -> None:
        await conn.execute("TRUNCATE " + ", ".join(f"{schema}.{t}" for t in PROJECTION_TABLES))

    return registry


_PRIOR: contextvars.ContextVar[dict[str, ReviewCase | None] | None] = contextvars.ContextVar(
    "gx_workflow_prior_cases", default=None)


@contextlib.contextmanager
def prior_state(stream_id: str, case: ReviewCase | None) -> Iterator[None]:
    """The case a handler loaded before its events (None: a new stream): the projector folds
    the new events onto it instead of reading the stream again (if the versions follow)."""
    token = _PRIOR.set({**(_PRIOR.get() or {}), stream_id: case})
    try:
        yield
    finally:
        _PRIOR.reset(token)


_KEEP_CASES = 100_000


def _from_prior(stream_id: str, events: list[StoredEvent],
                kept: dict[str, ReviewCase] | None = None) -> ReviewCase | None:
    """The case after `events`, folded onto the state a handler loaded (`prior_state`) or a
    rebuild kept; None if neither holds the state right before them."""
    hints = _PRIOR.get() or kept or {}
    if stream_id not in hints and events[0].version == 1:
        hints = {stream_id: None}  # a new stream: nothing to read
    if stream_id not in hints:
        return None
    prior = hints[stream_id]
    if (prior.version if prior else 0) != events[0].version - 1:
        return None  # not the state right before these events: read the stream
    case = prior
    for e in events:
        case = case.apply(e) if case else ReviewCase.replay([e])
    return case


async def _fold(conn: asyncpg.Connection, schema: str, upto: dict[str, int]
                ) -> dict[str, ReviewCase]:
    """Each stream's case as of version `upto[stream]` (events read in this transaction)."""
    rows = await conn.fetch(
        f"SELECT {EVENT_COLUMNS} FROM {schema}.events WHERE stream_id = ANY($1::text[]) "
        f"ORDER BY stream_id, version", list(upto))
    streams: dict[str, list[StoredEvent]] = {}
    for r in rows:
        if r["version"] <= upto[r["stream_id"]]:
            streams.setdefault(r["stream_id"], []).append(event_from_row(r))
    folded = {s: ReviewCase.replay(es) for s, es in streams.items()}
    return {s: c for s, c in folded.items() if c is not None}
