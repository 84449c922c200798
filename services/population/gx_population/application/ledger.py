"""人口信息指标台账 (ledger) and 复查 (re-check against administrative records).

Grid workers report changes in their grid (the person's name and ID number sealed); the
village coordinator adjusts with a reason; a ledger is derived per month (domain.ledger) and
rolls up to the township and county. The re-check compares an area's registered households,
persons, births and deaths with the administrative figures and lists what differs beyond the
tolerance (GX_POPULATION_RECHECK_TOLERANCE), each to be explained or corrected.
"""
from __future__ import annotations

import uuid
from collections import defaultdict
from typing import Any

from gx_contracts.commands.population import (
    AdjustLedger,
    ExplainDiscrepancy,
    RecordAdminFigures,
    ReportChange,
)
from gx_contracts.divisions import contains, is_valid_code, level_of, prefix_of
from gx_contracts.events.base import event_fields
from gx_contracts.events.population import (
    LEDGER_INDICATORS,
    RECHECK_INDICATORS,
    AdminFiguresRecorded,
    ChangeReported,
    DiscrepancyExplained,
    LedgerAdjusted,
    PersonEntry,
)
from gx_contracts.ids import stream_id
from gx_kernel.errors import AppError, Forbidden, NotFound
from gx_kernel.eventstore import NewEvent
from gx_kernel.identity import Principal
from gx_kernel.service import ServiceRuntime

from gx_population.adapters import repo
from gx_population.adapters import survey_sql as sq
from gx_population.application.access import (
    NS,
    cipher,
    jurisdiction,
    metadata,
    private_digest,
    require_role,
    unit_of_work,
)
from gx_population.domain import idnumber
from gx_population.domain import ledger as lg


def _ledger_stream(village: str) -> str:
    return stream_id("ledger", uuid.uuid5(NS, f"ledger:{village}"))


def _own_village(p: Principal, role: str, what: str) -> str:
    require_role(p, {role}, what)
    village = jurisdiction(p)
    if len(village) != 12:
        raise Forbidden("此操作须由村级账号进行", code="not_village_account")
    return village


async def report_change(rt: ServiceRuntime, p: Principal, cmd: ReportChange,
                        key: str | None) -> tuple[int, dict[str, Any]]:
    village = _own_village(p, "grid_worker", "报告人口变动（网格员）")
    if cmd.person.id_number and not idnumber.is_valid(cmd.person.id_number):
        try:
            idnumber.parse(cmd.person.id_number)
        except idnumber.IdNumberError as e:
            raise AppError(422, e.code, e.message, field="person.id_number") from None
    digest = {"op": "change", "d": private_digest(rt, cmd.model_dump(mode="json"))}
    async with unit_of_work(rt, p, key, digest) as uow:
        if uow.replayed:
            return uow.replayed
        cid = uuid.uuid4()
        record = {k: v for k, v in cmd.person.model_dump().items() if v}
        sealed = await cipher(rt, uow.conn).seal(str(cid), record)
        event = ChangeReported(change_id=cid, village_code=village, kind=cmd.kind, date=cmd.date,
                               month=cmd.date[:7], person=PersonEntry(person_id=cid, fields=sealed))
        uow.collect(_ledger_stream(village), None, [NewEvent(**event_fields(event))],
                    metadata(p, key))
        await uow.flush()
        return uow.respond(201, {"change_id": str(cid), "month": cmd.date[:7]})


async def adjust(rt: ServiceRuntime, p: Principal, cmd: AdjustLedger,
                 key: str | None) -> tuple[int, dict[str, Any]]:
    village = _own_village(p, "village_coordinator", "调整台账（村级统计协管员）")
    async with unit_of_work(rt, p, key, {"op": "adjust", **cmd.model_dump()}) as uow:
        if uow.replayed:
            return uow.replayed
        event = LedgerAdjusted(adjustment_id=uuid.uuid4(), village_code=village, month=cmd.month,
                               indicator=cmd.indicator, delta=cmd.delta, reason=cmd.reason)
        uow.collect(_ledger_stream(village), None, [NewEvent(**event_fields(event))],
                    metadata(p, key))
        await uow.flush()
        return uow.respond(201, {"adjustment_id": str(event.adjustment_id)})


async def ledger(rt: ServiceRuntime, p: Principal, division: str | None,
                 month: str) -> dict[str, Any]:
    """The village's ledger by month, or a township's/county's roll-up of its villages."""
    if p.role == "subscriber":
        raise Forbidden("订阅系统不能读取台账", code="role_forbidden")
    code = division or p.scope
    if not is_valid_code(code) or not contains(jurisdiction(p), code):
        raise AppError(403, "outside_jurisdiction", "区划不在您的管辖范围内", field="division")
    prefix = prefix_of(code)
    s = rt.settings.schema
    async with rt.pool.acquire() as conn:
        first = await sq.first_month(conn, s, prefix)
        changes = await sq.change_counts(conn, s, prefix, month)
        adjustments = await sq.adjustment_sums(conn, s, prefix, month)
        detail = level_of(code).value == "village"
        listed = (await sq.changes_of(conn, s, code, month),
                  await sq.adjustments_of(conn, s, code, month)) if detail else ([], [])
    months = lg.months_until(min(first or month, month), month)
    by_village: dict[str, tuple[dict[tuple[str, str], int], dict[tuple[str, str], int]]] = \
        defaultdict(lambda: ({}, {}))
    for r in changes:
        by_village[r["village_code"]][0][(r["month"], r["kind"])] = r["n"]
    for r in adjustments:
        by_village[r["village_code"]][1][(r["month"], r["indicator"])] = r["n"]
    villages = {v: lg.monthly(months, c, a) for v, (c, a) in sorted(by_village.items())}
    current = {v: rows[-1] for v, rows in villages.items()}
    body: dict[str, Any] = {"division": code, "month": month, "indicators": LEDGER_INDICATORS,
                            "total": lg.roll_up(current.values()),
                            "villages": [{"village_code": v, **row} for v, row in current.items()]}
    if detail:
        body["months"] = villages.get(code, lg.monthly(months, {}, {}))
        body["changes"] = [{**c, "change_id": str(c["change_id"]), "at": c["at"].isoformat()}
                           for c in listed[0]]
        body["adjustments"] = [{**a, "adjustment_id": str(a["adjustment_id"]),
                                "at": a["at"].isoformat()} for a in listed[1]]
    return body


# -- 复查 -----------------------------------------------------------------------------------
async def _coordinator_area(conn: Any, s: str, p: Principal, area_id: uuid.UUID) -> dict[str, Any]:
    area = await repo.area(conn, s, area_id)
    if area is None or not contains(jurisdiction(p), area["village_code"]):
        raise NotFound("调查小区", str(area_id))
    if p.role != "village_coordinator" or jurisdiction(p) != area["village_code"]:
        raise Forbidden("只有本村的村级统计协管员可以录入复查资料", code="not_village_coordinator")
    return area


async def record_admin(rt: ServiceRuntime, p: Principal, area_id: uuid.UUID,
                       cmd: RecordAdminFigures, key: str | None) -> tuple[int, dict[str, Any]]:
    s = rt.settings.schema
    async with unit_of_work(rt, p, key, {"op": "admin", "a": str(area_id),
                                         **cmd.model_dump()}) as uow:
        if uow.replayed:
            return uow.replayed
        await _coordinator_area(uow.conn, s, p, area_id)
        event = AdminFiguresRecorded(area_id=area_id, **cmd.model_dump())
        uow.collect(stream_id("recheck", area_id), None, [NewEvent(**event_fields(event))],
                    metadata(p, key))
        await uow.flush()
        return uow.respond(200, {"area_id": str(area_id)})


async def explain(rt: ServiceRuntime, p: Principal, area_id: uuid.UUID, cmd: ExplainDiscrepancy,
                  key: str | None) -> tuple[int, dict[str, Any]]:
    s = rt.settings.schema
    async with unit_of_work(rt, p, key, {"op": "explain", "a": str(area_id),
                                         **cmd.model_dump()}) as uow:
        if uow.replayed:
            return uow.replayed
        await _coordinator_area(uow.conn, s, p, area_id)
        event = DiscrepancyExplained(area_id=area_id, **cmd.model_dump())
        uow.collect(stream_id("recheck", area_id), None, [NewEvent(**event_fields(event))],
                    metadata(p, key))
        await uow.flush()
        return uow.respond(200, {"area_id": str(area_id), "indicator": cmd.indicator})


async def recheck_report(rt: ServiceRuntime, p: Principal, area_id: uuid.UUID) -> dict[str, Any]:
    s = rt.settings.schema
    async with rt.pool.acquire() as conn:
        area = await repo.area(conn, s, area_id)
        if area is None or not contains(jurisdiction(p), area["village_code"]):
            raise NotFound("调查小区", str(area_id))
        admin = await sq.admin(conn, s, area_id)
        registered = await sq.registered_figures(conn, s, area_id)
        notes = await sq.notes(conn, s, area_id)
    tolerance = rt.settings.recheck_tolerance
    found = lg.discrepancies(registered, {k: admin[k] for k in RECHECK_INDICATORS}
                             if admin else {}, tolerance)
    items = [{**d, "label": RECHECK_INDICATORS[str(d["indicator"])],
              "explanation": (notes.get(str(d["indicator"])) or {}).get("explanation"),
              "corrected": (notes.get(str(d["indicator"])) or {}).get("corrected", False)}
             for d in found]
    return {"area_id": str(area_id), "area_code": area["area_code"], "tolerance": tolerance,
            "registered": registered,
            "administrative": {k: admin[k] for k in (*RECHECK_INDICATORS, "source")} if admin else None,
            "discrepancies": items, "open": sum(1 for i in items if not i["explanation"])}
