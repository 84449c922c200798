"""Read models of the 基本单位情况表 and of 定期确认's moves, from the registry's own events.

`register(registry, s)` adds them to the registry's `ProjectionRegistry` (projections.py):
- ``unit_forms``: the form aggregate folded over its events (`UnitForm.from_row` of the row
  before them, one read and one `executemany` per batch) — lifecycle columns included, so
  nothing is written beside the events and a rebuild gives the same rows;
- the form's task is done once the county's final acceptance is recorded;
- a unit found on the ground links its form (``registry.unit.registered`` from the survey);
- a unit the coordinator confirmed as moved out (迁出) lands, as a 实地核实 task, in the list of
  the county it moved to (like a transfer-out).
"""
from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import orjson

from gx_contracts.divisions import level_of
from gx_contracts.events import decode
from gx_contracts.events import registry as ev
from gx_kernel.eventstore import StoredEvent
from gx_kernel.projections import ProjectionRegistry

from gx_registry.domain import form_aggregate as fa
from gx_registry.domain import tasks as task_rules

_COLS = ("form_id", "unit_id", "task_id", "round_id", "village_code", "form_version", "vals",
         "explanations", "location", "status", "revision", "review_level", "approved_rank",
         "case_id", "accepted_level", "confirmed_level", "return_reason", "return_from_level",
         "version")
_JSONB = {"vals", "explanations", "location"}
_UPSERT = ("INSERT INTO {s}.unit_forms ({cols}, updated_at) VALUES ({vals}, $%d) "
           "ON CONFLICT (form_id) DO UPDATE SET {sets}, updated_at = EXCLUDED.updated_at")
MOVED_OUT = "moved_out"  # UnitMoved.reason_code of a unit confirmed as moved out


def _upsert_sql(s: str) -> str:
    vals = ", ".join(f"${i + 1}::jsonb" if c in _JSONB else f"${i + 1}"
                     for i, c in enumerate(_COLS))
    sets = ", ".join(f"{c} = EXCLUDED.{c}" for c in _COLS[1:])
    return (_UPSERT % (len(_COLS) + 1)).format(s=s, cols=", ".join(_COLS), vals=vals, sets=sets)


def _j(v: Any) -> str:
    return orjson.dumps(v, default=str).decode()


def register(registry: ProjectionRegistry, s: str) -> None:
    upsert = _upsert_sql(s)

    @registry.batch(*fa.EVENT_TYPES)
    async def unit_forms(conn: Any, events: Sequence[StoredEvent]) -> None:
        ids = list(dict.fromkeys(uuid.UUID(e.data["form_id"]) for e in events))
        rows = await conn.fetch(f"SELECT * FROM {s}.unit_forms WHERE form_id = ANY($1::uuid[])",
                                ids)
        heads = {r["form_id"]: fa.UnitForm.from_row(dict(r)) for r in rows}
        at: dict[uuid.UUID, Any] = {}
        done: list[uuid.UUID] = []
        for e in events:
            fid = uuid.UUID(e.data["form_id"])
            form = heads.setdefault(fid, fa.UnitForm(fid))
            payload = decode(e.type, e.schema_version, e.data)
            form.apply(payload)
            form.version, at[fid] = e.version, e.recorded_at
            if isinstance(payload, ev.UnitFormAccepted) and payload.final and form.task_id:
                done.append(form.task_id)
        await conn.executemany(upsert, [(*(f.row()[c] for c in _COLS), at[fid])
                                        for fid, f in heads.items() if fid in at])
        if done:  # the survey of the task is accepted by the last level of the chain
            await conn.execute(f"UPDATE {s}.tasks SET status = 'done' "
                               f"WHERE task_id = ANY($1::uuid[])", done)

    @registry.batch(ev.UnitRegistered.EVENT_TYPE, ev.UnitMoved.EVENT_TYPE)
    async def survey_and_moves(conn: Any, events: Sequence[StoredEvent]) -> None:
        for e in events:
            d, source = e.data, e.data.get("source") or {}
            if e.type == ev.UnitRegistered.EVENT_TYPE:
                if source.get("kind") == "survey" and source.get("form_id"):
                    # a unit found on the ground: its form now names it
                    await conn.execute(f"UPDATE {s}.unit_forms SET unit_id = $2 "
                                       f"WHERE form_id = $1 AND unit_id IS NULL",
                                       uuid.UUID(source["form_id"]), uuid.UUID(d["unit_id"]))
            elif d.get("reason_code") == MOVED_OUT and source.get("kind") == "confirmation":
                await _moved_out_task(conn, s, d, source)

    @registry.reset
    async def reset(conn: Any) -> None:
        await conn.execute(f"TRUNCATE {s}.unit_forms")


async def _moved_out_task(conn: Any, s: str, d: dict[str, Any], source: dict[str, Any]) -> None:
    """迁出 confirmed by the coordinator: a 实地核实 task in the list of the county it moved to
    (or the division itself, if coarser), placed where it now is."""
    unit_id, to = uuid.UUID(d["unit_id"]), d["to_division"]
    holder = task_rules.transfer_holder(to)
    reasons = [{"code": "confirmation.moved_out",
                "text": f"定期确认中由{d['from_division']}迁出：{d.get('reason') or ''}"[:300]}]
    await conn.execute(
        f"INSERT INTO {s}.tasks (task_id, kind, unit_id, placed_code, holder_code, holder_level, "
        f"reasons, source, last_move) VALUES ($1,'field_verification',$2,$3,$4,$5,$6::jsonb,"
        f"$7::jsonb,$8::jsonb) ON CONFLICT (task_id) DO UPDATE SET holder_code = "
        f"EXCLUDED.holder_code, holder_level = EXCLUDED.holder_level, placed_code = "
        f"EXCLUDED.placed_code, reasons = EXCLUDED.reasons, last_move = EXCLUDED.last_move, "
        f"status = 'open', grid_id = NULL",
        task_rules.task_id_for(unit_id, "field_verification", f"moved_out:{source.get('round_id')}"),
        unit_id, to, holder, level_of(holder).value, _j(reasons), _j(source),
        _j({"type": "moved_out", "reason": d.get("reason"), "from": d["from_division"]}))


__all__ = ["register", "MOVED_OUT"]
