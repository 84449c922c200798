"""Read models of the registry, projected from its own events in the writer's transaction.

One projector folds all unit events in order (several tables follow one unit's stream: the
unit row, the task list rows its department source creates); the others are one per stream kind.
A task row is derived from the unit event that needs it: a unit registered from a department
file -> 新增单位查找; changed by one, or flagged by the audit -> 实地核实.
"""
from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence
from typing import Any

import orjson

from gx_contracts.divisions import level_of
from gx_contracts.events import registry as ev
from gx_contracts.events.trusted import trusted_replay
from gx_kernel.eventstore import StoredEvent
from gx_kernel.projections import ProjectionRegistry

from gx_registry.application import form_projections, unit_rows
from gx_registry.domain.tasks import task_id_for

UNIT_TYPES = (ev.UnitRegistered, ev.UnitChanged, ev.UnitClassified, ev.UnitMoved, ev.UnitClosed,
              ev.UnitConfirmed, ev.UnitFlagged)


def _j(v: Any) -> str:
    return orjson.dumps(v, default=str).decode()


def county_of(code: str) -> str:
    return code[:6]


@functools.cache
def projections(s: str) -> ProjectionRegistry:
    """The projectors of the registry read models in schema `s`."""
    registry = ProjectionRegistry()
    registry.during_rebuild(trusted_replay)  # our own events: decoded without re-checking

    @registry.batch(ev.ImportStarted.EVENT_TYPE, ev.ImportCompleted.EVENT_TYPE,
                    ev.ImportFailed.EVENT_TYPE)
    async def imports(conn, events: Sequence[StoredEvent]) -> None:
        for e in events:
            d = e.data
            if e.type == ev.ImportStarted.EVENT_TYPE:
                await conn.execute(
                    f"INSERT INTO {s}.import_batches (batch_id, department, mapping_version, "
                    f"file_name, file_bytes, file_sha256, scope_division, imported_by, status, "
                    f"received_bytes) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,'processing',$5) "
                    f"ON CONFLICT (batch_id) DO UPDATE SET status = 'processing', "
                    f"file_sha256 = EXCLUDED.file_sha256, mapping_version = EXCLUDED.mapping_version",
                    uuid.UUID(d["batch_id"]), d["department"], d["mapping_version"],
                    d["file_name"], d["file_bytes"], d["file_sha256"], d["scope_division"],
                    d["imported_by"])
            elif e.type == ev.ImportCompleted.EVENT_TYPE:
                await conn.execute(
                    f"UPDATE {s}.import_batches SET status = 'done', stage = 'done', "
                    f"rows_total = $2, rows_done = $2, good_rows = $3, bad_rows = $4, "
                    f"outcomes = $5::jsonb, finished_at = $6 WHERE batch_id = $1",
                    uuid.UUID(d["batch_id"]), d["rows"], d["good_rows"], d["bad_rows"],
                    _j(d["outcomes"]), e.recorded_at)
            else:
                await conn.execute(
                    f"UPDATE {s}.import_batches SET status = 'failed', failure = $2, "
                    f"finished_at = $3 WHERE batch_id = $1",
                    uuid.UUID(d["batch_id"]), d["reason"], e.recorded_at)

    @registry.batch(*(t.EVENT_TYPE for t in UNIT_TYPES))
    async def units(conn, events: Sequence[StoredEvent]) -> None:
        # runs of registrations, and runs of changes and closings, in a few statements each
        # (unit_rows); the other unit events one at a time, in order
        holders = unit_rows.Holders(conn, s)
        i = 0
        while i < len(events):
            kind = _run_kind(events[i].type)
            j = i + 1
            while j < len(events) and kind and _run_kind(events[j].type) == kind:
                j += 1
            if kind == "register":
                for e in await unit_rows.register(conn, s, events[i:j], holders):
                    await _unit_event(conn, s, e, holders)
            elif kind == "change":
                await unit_rows.change(conn, s, events[i:j], holders)
            else:
                await _unit_event(conn, s, events[i], holders)
            i = j

    @registry.batch(ev.ReviewOpened.EVENT_TYPE, ev.ReviewResolved.EVENT_TYPE)
    async def reviews(conn, events: Sequence[StoredEvent]) -> None:
        for e in events:
            d = e.data
            if e.type == ev.ReviewOpened.EVENT_TYPE:
                await conn.execute(
                    f"INSERT INTO {s}.reviews (review_id, batch_id, row_no, division_code, record,"
                    f" candidates, explanation, version) VALUES ($1,$2,$3,$4,$5::jsonb,$6,"
                    f"$7::jsonb,$8) ON CONFLICT (review_id) DO NOTHING",
                    uuid.UUID(d["review_id"]), uuid.UUID(d["batch_id"]), d["row_no"],
                    d["division_code"], _j(d["record"]), [uuid.UUID(c) for c in d["candidates"]],
                    _j(d["explanation"]), e.version)
            else:
                await conn.execute(
                    f"UPDATE {s}.reviews SET status = 'resolved', decision = $2, unit_id = $3, "
                    f"reason = $4, version = $5 WHERE review_id = $1",
                    uuid.UUID(d["review_id"]), d["decision"], uuid.UUID(d["unit_id"]),
                    d["reason"], e.version)

    @registry.batch(ev.TaskListPushedDown.EVENT_TYPE, ev.TaskTransferredOut.EVENT_TYPE,
                    ev.TaskReturnedUp.EVENT_TYPE, ev.TaskAssigned.EVENT_TYPE)
    async def tasks(conn, events: Sequence[StoredEvent]) -> None:
        for e in events:
            await _task_event(conn, s, e)

    @registry.on(ev.GridCreated.EVENT_TYPE)
    async def grid(conn, e: StoredEvent) -> None:
        d = e.data
        await conn.execute(
            f"INSERT INTO {s}.grids (grid_id, village_code, grid_code, name, worker, version) "
            f"VALUES ($1,$2,$3,$4,$5,$6) ON CONFLICT (grid_id) DO NOTHING",
            uuid.UUID(d["grid_id"]), d["village_code"], d["grid_code"], d["name"], d["worker"],
            e.version)

    @registry.on(ev.RoundOpened.EVENT_TYPE)
    async def round_opened(conn, e: StoredEvent) -> None:
        d = e.data
        await conn.execute(
            f"INSERT INTO {s}.rounds (round_id, period, scope_division, title, opened_by, "
            f"opened_at) VALUES ($1,$2,$3,$4,$5,$6) ON CONFLICT DO NOTHING",
            uuid.UUID(d["round_id"]), d["period"], d["scope_division"], d["title"],
            d["opened_by"], e.recorded_at)

    form_projections.register(registry, s)  # 基本单位情况表 rows, from the forms' own events

    @registry.reset
    async def reset(conn) -> None:
        await conn.execute(f"TRUNCATE {s}.units, {s}.reviews, {s}.tasks, {s}.grids, "
                           f"{s}.rounds, {s}.confirmations, {s}.unit_forms")

    return registry


def _run_kind(event_type: str) -> str:
    if event_type in unit_rows.REGISTER_TYPES:
        return "register"
    return "change" if event_type in unit_rows.CHANGE_TYPES else ""


async def _unit_event(conn, s: str, e: StoredEvent, holders: unit_rows.Holders) -> None:
    d = e.data
    unit_id = uuid.UUID(d["unit_id"])
    source = d.get("source") or {}
    await conn.execute(f"UPDATE {s}.units SET version = $2, last_source = $3::jsonb, "
                       f"updated_at = $4 WHERE unit_id = $1", unit_id, e.version, _j(source),
                       e.recorded_at)
    if e.type == ev.UnitClassified.EVENT_TYPE:
        await conn.execute(
            f"UPDATE {s}.units SET unit_kind = $2, unit_type = $3, classification = $4::jsonb, "
            f"parent_id = $5 WHERE unit_id = $1", unit_id, d["unit_kind"], d["unit_type"],
            _j({k: d.get(k) for k in ("rules_version", "kind_rule", "type_rule", "parent_name")}),
            uuid.UUID(d["parent_id"]) if d.get("parent_id") else None)
    elif e.type == ev.UnitMoved.EVENT_TYPE:
        to = d["to_division"]
        await conn.execute(f"UPDATE {s}.units SET division_code = $2, county_code = $3, "
                           f"placed_level = $4 WHERE unit_id = $1", unit_id, to, county_of(to),
                           level_of(to).value)
    elif e.type == ev.UnitConfirmed.EVENT_TYPE:
        await conn.execute(
            f"INSERT INTO {s}.confirmations (round_id, unit_id, division_code, outcome, note, "
            f"confirmed_at) VALUES ($1,$2,$3,$4,$5,$6) ON CONFLICT (round_id, unit_id) DO UPDATE "
            f"SET outcome = EXCLUDED.outcome, note = EXCLUDED.note, "
            f"confirmed_at = EXCLUDED.confirmed_at", uuid.UUID(d["round_id"]), unit_id,
            d["division_code"], d["outcome"], d["note"], e.recorded_at)
    elif e.type == ev.UnitFlagged.EVENT_TYPE:
        await _add_task(conn, s, "field_verification", unit_id, d["division_code"], source,
                        [{"code": f["rule"], "text": f["message"]} for f in d["findings"]],
                        holders)


async def _add_task(conn, s: str, kind: str, unit_id: uuid.UUID, placed: str,
                    source: dict, reasons: list[dict], holders: unit_rows.Holders) -> None:
    """A task on the importer's list (the batch's scope; the auditor's; else the region)."""
    batch = source.get("batch_id")
    holder = await holders.of(source)
    await conn.execute(
        f"INSERT INTO {s}.tasks (task_id, kind, unit_id, placed_code, holder_code, holder_level, "
        f"reasons, source) VALUES ($1,$2,$3,$4,$5,$6,$7::jsonb,$8::jsonb) "
        f"ON CONFLICT (task_id) DO UPDATE SET reasons = EXCLUDED.reasons",
        task_id_for(unit_id, kind, batch or source.get("kind", "")), kind, unit_id, placed,
        holder, level_of(holder).value, _j(reasons), _j(source))


async def _task_event(conn, s: str, e: StoredEvent) -> None:
    from gx_registry.adapters import tasks_sql

    d = e.data
    if e.type == ev.TaskListPushedDown.EVENT_TYPE:
        await tasks_sql.push_down(conn, s, d["scope_division"], d["to_level"],
                                  [uuid.UUID(t) for t in d.get("task_ids") or []], d.get("kind"))
        return
    move = {"type": e.type.rsplit(".", 1)[1], "reason": d.get("reason"),
            "from": d.get("from_division"), "at": e.recorded_at.isoformat(),
            "by": e.metadata.get("actor_name")}
    if e.type == ev.TaskAssigned.EVENT_TYPE:
        await conn.execute(f"UPDATE {s}.tasks SET grid_id = $2, version = $3 WHERE task_id = $1",
                           uuid.UUID(d["task_id"]), uuid.UUID(d["grid_id"]), e.version)
        return
    to = d["to_division"]
    await conn.execute(
        f"UPDATE {s}.tasks SET holder_code = $2, holder_level = $3, grid_id = NULL, "
        f"last_move = $4::jsonb, version = $5, "
        f"placed_code = CASE WHEN $6 THEN $2 ELSE placed_code END WHERE task_id = $1",
        uuid.UUID(d["task_id"]), to, level_of(to).value, _j(move), e.version,
        e.type == ev.TaskTransferredOut.EVENT_TYPE)
