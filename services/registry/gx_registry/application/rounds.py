"""定期确认 (confirmation rounds) and 名录库审核 (the audit run over the stock).

A round covers a division; every village coordinator in it marks each of the village's units
confirmed, changed (a survey form opens), erroneous or moved out. Progress counts, per child
division, units confirmed of units in the register — read live by every level above.
"""
from __future__ import annotations

import uuid
from typing import Any

from gx_contracts.commands.registry import ConfirmUnit, OpenRound, RunAudit
from gx_contracts.divisions import Level, ancestor_at, contains, level_of, prefix_of
from gx_contracts.events.base import event_fields
from gx_contracts.events.registry import RoundOpened, Source
from gx_contracts.ids import stream_id
from gx_kernel.errors import AppError, Conflict, NotFound
from gx_kernel.eventstore import NewEvent
from gx_kernel.identity import Principal
from gx_kernel.service import ServiceRuntime
from gx_kernel.uow import IdempotencyKey, UnitOfWork

from gx_registry.application.access import (
    READERS,
    REVIEWERS,
    jurisdiction,
    metadata,
    require_inside,
    require_role,
)
from gx_registry.application.form_projections import MOVED_OUT
from gx_registry.application.forms import PREFILL, open_in
from gx_registry.application.projections import projections
from gx_registry.domain import audit as audit_rules
from gx_registry.domain import tasks as task_rules
from gx_registry.domain.placement import _tree
from gx_registry.domain.unit import Unit

OUTCOME_ZH = {"confirmed": "确认无误", "changed": "有变更", "erroneous": "差错", "moved_out": "迁出"}
ERRONEOUS_RULES = "confirmation-v1"  # rules_version of the flag an 差错 confirmation raises
_CHILD = {Level.region: Level.city, Level.city: Level.county, Level.county: Level.township,
          Level.township: Level.village, Level.village: Level.village}


def _uow(rt: ServiceRuntime, p: Principal, key: str | None, payload: Any) -> UnitOfWork:
    return UnitOfWork(rt.store, projections=projections(rt.settings.schema),
                      idempotency=IdempotencyKey(p.user_id, key, payload))


async def open_round(rt: ServiceRuntime, p: Principal, cmd: OpenRound, key: str | None
                     ) -> tuple[int, dict]:
    require_role(p, REVIEWERS, "开始定期确认")
    if not contains(jurisdiction(p), cmd.scope_division):
        raise AppError(403, "outside_jurisdiction", "确认范围超出您的管辖范围", field="scope_division")
    async with _uow(rt, p, key, {"op": "round", **cmd.model_dump(mode="json")}) as uow:
        if uow.replayed:
            return uow.replayed
        round_id = uuid.uuid4()
        uow.collect(stream_id("round", round_id), 0, [NewEvent(**event_fields(RoundOpened(
            round_id=round_id, period=cmd.period, scope_division=cmd.scope_division,
            title=cmd.title, opened_by=p.user_id)))], metadata(p, key))
        return uow.respond(201, {"round_id": str(round_id), **cmd.model_dump(mode="json")})


async def _round(conn: Any, s: str, p: Principal, round_id: uuid.UUID) -> Any:
    r = await conn.fetchrow(f"SELECT * FROM {s}.rounds WHERE round_id = $1", round_id)
    # visible to those inside its scope and to the levels above it
    if r is None or not (contains(jurisdiction(p), r["scope_division"])
                         or contains(r["scope_division"], p.scope)):
        raise NotFound("定期确认", str(round_id))
    return r


async def list_rounds(rt: ServiceRuntime, p: Principal) -> dict:
    require_role(p, READERS, "查看定期确认")
    s = rt.settings.schema
    async with rt.pool.acquire() as conn:
        rows = await conn.fetch(f"SELECT * FROM {s}.rounds ORDER BY opened_at DESC LIMIT 200")
    return {"items": [{"round_id": str(r["round_id"]), "period": r["period"],
                       "scope_division": r["scope_division"], "title": r["title"],
                       "opened_at": r["opened_at"].isoformat()} for r in rows
                      if contains(jurisdiction(p), r["scope_division"])
                      or contains(r["scope_division"], p.scope)]}


async def confirm(rt: ServiceRuntime, p: Principal, round_id: uuid.UUID, cmd: ConfirmUnit,
                  key: str | None) -> tuple[int, dict]:
    """The coordinator marks one of the village's units: confirmed; changed (a survey form
    opens, prefilled); erroneous (差错: the reason is recorded and the unit goes on the county's
    实地核实 list, to be corrected or closed); moved out (迁出: the unit moves to where it really
    is and lands in that county's list, like a transfer-out)."""
    require_role(p, {"village_coordinator"}, "确认本村单位")
    _check_outcome(p, cmd)
    s = rt.settings.schema
    async with _uow(rt, p, key, {"op": "confirm", "round": str(round_id),
                                 **cmd.model_dump(mode="json")}) as uow:
        if uow.replayed:
            return uow.replayed
        rnd = await _round(uow.conn, s, p, round_id)
        row = await uow.conn.fetchrow(f"SELECT * FROM {s}.units WHERE unit_id = $1 FOR UPDATE",
                                      cmd.unit_id)
        if row is None or row["division_code"] != p.scope or row["closed"]:
            raise NotFound("本村单位", str(cmd.unit_id))
        if not contains(rnd["scope_division"], row["division_code"]):
            raise Conflict("该单位不在本轮确认范围内", code="outside_round")
        unit = Unit.from_row(dict(row))
        note = cmd.note.strip()
        src = Source(kind="confirmation", round_id=round_id, note=note or None)
        unit.confirm(round_id, cmd.outcome, note, src)
        body: dict[str, Any] = {"unit_id": str(cmd.unit_id), "outcome": cmd.outcome,
                                "outcome_zh": OUTCOME_ZH[cmd.outcome]}
        if cmd.outcome == "erroneous":
            county = ancestor_at(p.scope, Level.county)
            unit.flag([{"rule": "confirmation.erroneous", "field": "",
                        "message": f"定期确认报告差错：{note}"[:300]}], ERRONEOUS_RULES,
                      src.model_copy(update={"scope_division": county}))
            body["holder_code"] = county
        elif cmd.outcome == "moved_out":
            assert cmd.to_division is not None
            unit.move(cmd.to_division, MOVED_OUT, note, src)
            body |= {"to_division": cmd.to_division,
                     "holder_code": task_rules.transfer_holder(cmd.to_division)}
        uow.add(unit, metadata(p, key))
        await uow.flush()
        if cmd.outcome == "changed":  # the changes go through a survey form
            form_id = uuid.uuid5(round_id, str(cmd.unit_id))
            await open_in(uow, s, p, key, form_id, p.scope, unit_id=cmd.unit_id,
                          round_id=round_id, values={k: row[k] for k in PREFILL if row[k]})
            body["form_id"] = str(form_id)
        return uow.respond(200, body)


def _check_outcome(p: Principal, cmd: ConfirmUnit) -> None:
    """差错 and 迁出 need a reason; 迁出 a real division outside the village."""
    if cmd.outcome in ("erroneous", "moved_out") and not cmd.note.strip():
        raise AppError(422, "reason_required", f"确认为“{OUTCOME_ZH[cmd.outcome]}”时须填写原因",
                       field="note")
    if cmd.outcome != "moved_out":
        if cmd.to_division is not None:
            raise AppError(422, "to_division_unexpected", "只有确认为“迁出”时才填写迁入区划",
                           field="to_division")
        return
    if cmd.to_division is None:
        raise AppError(422, "to_division_required", "确认为“迁出”时须填写迁入区划（单位实际所在地）",
                       field="to_division")
    if cmd.to_division not in _tree().divisions:
        raise AppError(422, "unknown_division", f"区划代码 {cmd.to_division} 不存在",
                       field="to_division")
    if contains(prefix_of(p.scope), cmd.to_division):
        raise AppError(422, "not_outside", "迁入区划就是本村（社区）：单位未迁出", field="to_division")


async def progress(rt: ServiceRuntime, p: Principal, round_id: uuid.UUID,
                   division: str | None) -> dict:
    """Per child division of `division` (default: the caller's): units, confirmed, by outcome.
    A unit confirmed as moved out (or closed since) still counts where it was confirmed."""
    require_role(p, READERS, "查看确认进度")
    s = rt.settings.schema
    async with rt.pool.acquire() as conn:
        rnd = await _round(conn, s, p, round_id)
        at = division or (p.scope if contains(rnd["scope_division"], p.scope)
                          else rnd["scope_division"])
        require_inside(p, at, "区划", at)
        child = _CHILD[level_of(at)]
        n = child.prefix_len
        rows = await conn.fetch(
            f"SELECT rpad(left(x.code, {n}), 12, '0') AS code, count(*) AS units, "
            f"count(x.outcome) AS done, "
            f"count(*) FILTER (WHERE x.outcome = 'confirmed') AS confirmed, "
            f"count(*) FILTER (WHERE x.outcome = 'changed') AS changed, "
            f"count(*) FILTER (WHERE x.outcome = 'erroneous') AS erroneous, "
            f"count(*) FILTER (WHERE x.outcome = 'moved_out') AS moved_out FROM ("
            f"{_round_units(s, 'u.division_code AS code, c.outcome', 'c.division_code, c.outcome')}"
            f") x GROUP BY 1 ORDER BY 1", round_id, prefix_of(at) + "%",
            prefix_of(rnd["scope_division"]) + "%")
    names = _tree().divisions
    items = [{"division_code": r["code"], "name": names[r["code"]].name if r["code"] in names
              else r["code"], **{k: r[k] for k in ("units", "done", "confirmed", "changed",
                                                   "erroneous", "moved_out")}} for r in rows]
    total, done = sum(i["units"] for i in items), sum(i["done"] for i in items)
    return {"round_id": str(round_id), "division": at, "units": total, "done": done,
            "rate": round(done / total, 4) if total else 0.0, "items": items}


def _round_units(s: str, cols: str, cols_elsewhere: str) -> str:
    """The round's units in a division ($2 and $3: LIKE patterns): those there now (and open),
    less those confirmed elsewhere in this round, plus those confirmed there in this round that
    have moved or closed since (`cols_elsewhere` for them)."""
    return (f"SELECT {cols} FROM {s}.units u LEFT JOIN {s}.confirmations c ON "
            f"c.unit_id = u.unit_id AND c.round_id = $1 WHERE NOT u.closed AND "
            f"u.division_code LIKE $2 AND u.division_code LIKE $3 AND "
            f"(c.unit_id IS NULL OR c.division_code = u.division_code) "
            f"UNION ALL SELECT {cols_elsewhere} FROM {s}.confirmations c JOIN {s}.units u "
            f"USING (unit_id) WHERE c.round_id = $1 AND c.division_code LIKE $2 AND "
            f"c.division_code LIKE $3 AND (u.division_code <> c.division_code OR u.closed)")


async def village_units(rt: ServiceRuntime, p: Principal, round_id: uuid.UUID) -> dict:
    """The village's unit list for this round, each with its confirmation (if any); units it
    confirmed as moved out stay on the list, marked so."""
    require_role(p, {"village_coordinator", "grid_worker"}, "查看本村单位清单")
    s = rt.settings.schema
    cols = ("u.unit_id, u.name, u.uscc, u.address, u.legal_rep, u.unit_type, u.division_code, "
            "c.outcome, c.note")
    async with rt.pool.acquire() as conn:
        await _round(conn, s, p, round_id)
        rows = await conn.fetch(
            f"SELECT * FROM ({_round_units(s, cols, cols)}) x ORDER BY name",
            round_id, p.scope, p.scope)
    return {"items": [{"unit_id": str(r["unit_id"]), "name": r["name"], "uscc": r["uscc"],
                       "address": r["address"], "legal_rep": r["legal_rep"],
                       "unit_type": r["unit_type"], "outcome": r["outcome"],
                       "outcome_zh": OUTCOME_ZH.get(r["outcome"] or "", "未确认"),
                       "division_code": r["division_code"], "note": r["note"]} for r in rows]}


async def run_audit(rt: ServiceRuntime, p: Principal, cmd: RunAudit, key: str | None
                    ) -> tuple[int, dict]:
    """Audit the stock in scope; each unit with findings is flagged (a 实地核实 task)."""
    require_role(p, {"region_statistician", "city_statistician", "county_statistician"},
                 "运行名录库审核")
    if not contains(jurisdiction(p), cmd.scope_division):
        raise AppError(403, "outside_jurisdiction", "审核范围超出您的管辖范围", field="scope_division")
    s, rules = rt.settings.schema, audit_rules.audit_rules()
    divisions = _tree().divisions
    async with _uow(rt, p, key, {"op": "audit", **cmd.model_dump(mode="json")}) as uow:
        if uow.replayed:
            return uow.replayed
        rows = await uow.conn.fetch(
            f"SELECT * FROM {s}.units WHERE NOT closed AND division_code LIKE $1 LIMIT 200000",
            prefix_of(cmd.scope_division) + "%")
        found = audit_rules.audit([dict(r) for r in rows], divisions.__contains__, rules)
        by_id = {r["unit_id"]: r for r in rows}
        src = Source(kind="audit", scope_division=p.scope, note=rules.version)
        for unit_id, findings in found.items():
            unit = Unit.from_row(dict(by_id[unit_id]))
            unit.flag(findings[:50], rules.version, src)
            uow.add(unit, metadata(p, key))
        counts: dict[str, int] = {}
        for fs in found.values():
            for f in fs:
                counts[f["rule"]] = counts.get(f["rule"], 0) + 1
        return uow.respond(200, {"units": len(rows), "flagged": len(found), "by_rule": counts,
                                 "rules_version": rules.version})
