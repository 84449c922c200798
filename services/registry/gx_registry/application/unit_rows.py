"""The `units` rows and the task rows their events make, a run of events in a few statements.

An import chunk projects thousands of new and changed units; one statement per event (and a
look-up of the holder and the division for each task) cost minutes per 100,000 units. Here a
run of registrations is two inserts (units, 新增单位查找 tasks) and a run of changes and
closings is one update, one task insert and one task closing — with the same result as
projecting the events one by one in order (the rebuild tests hold both to the same rows).

A closed unit leaves the task lists: its open tasks get status `closed` (lists skip them).
"""
from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import orjson

from gx_contracts.divisions import REGION_CODE, level_of
from gx_contracts.events import registry as ev
from gx_kernel.eventstore import StoredEvent

from gx_registry.domain.records import FIELD_ZH
from gx_registry.domain.tasks import task_id_for

COLS = ("uscc", "name", "address", "legal_rep", "status", "reg_no", "phone", "industry_code")
REGISTER_TYPES = frozenset({ev.UnitRegistered.EVENT_TYPE, ev.UnitClassified.EVENT_TYPE})
CHANGE_TYPES = frozenset({ev.UnitChanged.EVENT_TYPE, ev.UnitClosed.EVENT_TYPE})
_TASK_SOURCES = ("department_file", "review")  # sources whose units land on a task list
_NEW_REASON = [{"code": "department.new", "text": "部门资料中的新增单位，名录库中没有"}]


def _j(v: Any) -> str:
    return orjson.dumps(v, default=str).decode()


def _classification(d: dict) -> str:
    return _j({k: d.get(k) for k in ("rules_version", "kind_rule", "type_rule", "parent_name")})


class Holders:
    """Whose list a task lands on: the importing division (or the auditor's, or the region);
    one look-up per batch."""

    def __init__(self, conn: Any, s: str):
        self.conn, self.s, self._seen = conn, s, {}  # type: dict[str | None, str]

    async def of(self, source: dict) -> str:
        batch = source.get("batch_id")
        if batch not in self._seen:
            holder = None
            if batch:
                holder = await self.conn.fetchval(
                    f"SELECT scope_division FROM {self.s}.import_batches WHERE batch_id = $1",
                    uuid.UUID(batch))
            self._seen[batch] = holder or source.get("scope_division") or REGION_CODE
        return self._seen[batch]


_UNITS_IN = ("INSERT INTO {s}.units (unit_id, uscc, name, address, legal_rep, status, reg_no, "
             "phone, industry_code, division_code, county_code, placed_level, placement, "
             "unit_kind, unit_type, classification, parent_id, flags, last_source, version, "
             "updated_at) SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], "
             "$5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], "
             "$11::text[], $12::text[], $13::jsonb[], $14::text[], $15::text[], $16::jsonb[], "
             "$17::uuid[], $18::jsonb[], $19::jsonb[], $20::int[], $21::timestamptz[]) "
             "ON CONFLICT (unit_id) DO NOTHING")
_TASKS_IN = ("INSERT INTO {s}.tasks (task_id, kind, unit_id, placed_code, holder_code, "
             "holder_level, reasons, source, status) SELECT * FROM unnest($1::uuid[], $2::text[],"
             " $3::uuid[], $4::text[], $5::text[], $6::text[], $7::jsonb[], $8::jsonb[], "
             "$9::text[]) ON CONFLICT (task_id) DO UPDATE SET reasons = EXCLUDED.reasons")


async def _insert_tasks(conn: Any, s: str, rows: Sequence[tuple]) -> None:
    """(task_id, kind, unit_id, placed, holder, level, reasons, source, status) rows, each
    task once (a later row of the same task replaces the earlier, as one by one would)."""
    if rows:
        await conn.execute(_TASKS_IN.format(s=s), *(list(c) for c in zip(*rows, strict=True)))


async def register(conn: Any, s: str, events: Sequence[StoredEvent], holders: Holders
                   ) -> list[StoredEvent]:
    """Registered units (with their classification when it follows in the run) in one
    insert, their 新增单位查找 tasks in another. Returns the events left for one-by-one
    projection (a classification of a unit registered before this run)."""
    rows: dict[uuid.UUID, list] = {}
    later: list[StoredEvent] = []
    tasks: dict[uuid.UUID, tuple] = {}
    for e in events:
        d = e.data
        unit_id = uuid.UUID(d["unit_id"])
        source = d.get("source") or {}
        if e.type == ev.UnitRegistered.EVENT_TYPE:
            code = d["division_code"]
            rows[unit_id] = [unit_id, *(d.get(c) for c in COLS), code, code[:6],
                             level_of(code).value, _j(d.get("placement") or {}), d["unit_kind"],
                             None, "{}", None, _j(d.get("flags") or []), _j(source), e.version,
                             e.recorded_at]
            if source.get("kind") in _TASK_SOURCES:
                holder = await holders.of(source)
                tid = task_id_for(unit_id, "new_unit_search",
                                  source.get("batch_id") or source["kind"])
                tasks[tid] = (tid, "new_unit_search", unit_id, code, holder,
                              level_of(holder).value, _j(_NEW_REASON), _j(source), "open")
        elif unit_id in rows:  # its classification, folded into the same row
            row = rows[unit_id]
            row[13], row[14], row[15] = d["unit_kind"], d["unit_type"], _classification(d)
            row[16] = uuid.UUID(d["parent_id"]) if d.get("parent_id") else None
            row[18], row[19], row[20] = _j(source), e.version, e.recorded_at
        else:
            later.append(e)
    if rows:
        await conn.execute(_UNITS_IN.format(s=s), *(list(c) for c in zip(*rows.values(),
                                                                         strict=True)))
    await _insert_tasks(conn, s, list(tasks.values()))
    return later


_CHANGE = ("UPDATE {s}.units u SET "
           + ", ".join(f"{c} = CASE WHEN r.ch ? '{c}' THEN r.ch->>'{c}' ELSE u.{c} END"
                       for c in COLS)
           + ", closed = u.closed OR r.closed, version = r.v, last_source = r.src, "
             "updated_at = r.at FROM unnest($1::uuid[], $2::jsonb[], $3::bool[], $4::int[], "
             "$5::jsonb[], $6::timestamptz[]) AS r(id, ch, closed, v, src, at) "
             "WHERE u.unit_id = r.id RETURNING u.unit_id, u.division_code, u.closed")
_CLOSE_TASKS = ("UPDATE {s}.tasks SET status = 'closed' WHERE unit_id = ANY($1::uuid[]) "
                "AND status = 'open'")


async def change(conn: Any, s: str, events: Sequence[StoredEvent], holders: Holders) -> None:
    """Changes and closings of existing units: each unit's row once (its changes folded in
    order), a 实地核实 task for each change from a department file (or a reviewer's decision
    on one), and the open tasks of every unit closed here closed. A closed unit never opens
    again, so a task of a unit closed by the end of the run is closed wherever it was made."""
    units: dict[uuid.UUID, dict[str, Any]] = {}
    tasks: dict[uuid.UUID, list] = {}  # task id -> row, its placed code and status to come
    for e in events:
        d = e.data
        unit_id = uuid.UUID(d["unit_id"])
        source = d.get("source") or {}
        u = units.setdefault(unit_id, {"ch": {}, "closed": False})
        u.update(v=e.version, src=_j(source), at=e.recorded_at)
        if e.type == ev.UnitClosed.EVENT_TYPE:
            u["ch"]["status"], u["closed"] = d["status"], True
            continue
        u["ch"].update((k, v) for k, v in d["changes"].items() if k in COLS)
        if source.get("kind") in _TASK_SOURCES:
            holder = await holders.of(source)
            reasons = [{"code": f"changed.{k}", "text": f"部门资料{FIELD_ZH.get(k, k)}变更："
                        f"{str(d.get('previous', {}).get(k) or '（空）')[:60]} → {str(v)[:60]}"}
                       for k, v in d["changes"].items()]
            tid = task_id_for(unit_id, "field_verification",
                              source.get("batch_id") or source.get("kind", ""))
            tasks[tid] = [tid, "field_verification", unit_id, None, holder,
                          level_of(holder).value, _j(reasons), _j(source), "open"]
    ids = list(units)
    rows = await conn.fetch(_CHANGE.format(s=s), ids, [_j(units[k]["ch"]) for k in ids],
                            [units[k]["closed"] for k in ids], [units[k]["v"] for k in ids],
                            [units[k]["src"] for k in ids], [units[k]["at"] for k in ids])
    now = {r["unit_id"]: (r["division_code"], r["closed"]) for r in rows}
    for t in tasks.values():
        t[3], closed = now.get(t[2], (None, False))
        t[8] = "closed" if closed else "open"
    await _insert_tasks(conn, s, [tuple(t) for t in tasks.values() if t[3] is not None])
    closing = [k for k in ids if units[k]["closed"]]
    if closing:
        await conn.execute(_CLOSE_TASKS.format(s=s), closing)


__all__ = ["CHANGE_TYPES", "COLS", "Holders", "REGISTER_TYPES", "change", "register"]
