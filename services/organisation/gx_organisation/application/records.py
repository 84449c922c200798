"""Subsidy rates and workloads, training sessions, assessment scores."""
from __future__ import annotations

import uuid
from typing import Any

from gx_contracts.commands.organisation import (
    RecordTraining,
    RecordWorkload,
    ScoreAssessment,
    SetSubsidyRates,
)
from gx_contracts.divisions import Level, level_of
from gx_contracts.events import organisation as ev
from gx_kernel.errors import AppError, NotFound
from gx_kernel.identity import Principal
from gx_kernel.service import ServiceRuntime

from gx_organisation.application.access import STATISTICIANS, jurisdiction, require_level, writer
from gx_organisation.application.unit import (
    append,
    current_version,
    division_name,
    name_id,
    unit_of_work,
)
from gx_organisation.domain import assessment

_ABOVE_TOWNSHIP = {"region_statistician", "city_statistician", "county_statistician"}


async def set_rates(rt: ServiceRuntime, p: Principal, cmd: SetSubsidyRates,
                    key: str | None) -> tuple[int, dict[str, Any]]:
    """补助标准 of a region, city or county for a year (lower levels inherit)."""
    require_level(cmd.division_code, {Level.region, Level.city, Level.county}, "division_code",
                  "补助标准")
    writer(p, cmd.division_code, _ABOVE_TOWNSHIP, "设定补助标准")
    roles = [r.role for r in cmd.rates]
    if len(set(roles)) != len(roles):
        raise AppError(422, "duplicate_role", "同一岗位只能有一个补助标准", field="rates")
    async with unit_of_work(rt, p, key, {"op": "rates", **cmd.model_dump(mode="json")}) as uow:
        if uow.replayed:
            return uow.replayed
        await division_name(uow.conn, rt.settings.schema, cmd.division_code, "division_code")
        rid = name_id("rates", cmd.year, cmd.division_code)
        version = await current_version(uow.conn, rt.store, "rates", rid)
        append(uow, "rates", rid, version, ev.SubsidyRatesSet(rates_id=rid, **cmd.model_dump()),
               p, key)
        stored = await uow.flush()
        return uow.respond(200, {"rates_id": str(rid), "version": stored[-1].version})


async def record_workload(rt: ServiceRuntime, p: Principal, appointment_id: uuid.UUID,
                          period: str, cmd: RecordWorkload,
                          key: str | None) -> tuple[int, dict[str, Any]]:
    s = rt.settings.schema
    async with unit_of_work(rt, p, key, {"op": "workload", "id": str(appointment_id),
                                         "period": period, **cmd.model_dump()}) as uow:
        if uow.replayed:
            return uow.replayed
        row = await uow.conn.fetchrow(f"SELECT division_code FROM {s}.appointments "
                                      f"WHERE appointment_id = $1", appointment_id)
        if row is None or p.role not in STATISTICIANS or \
                not row["division_code"].startswith(jurisdiction(p)):
            raise NotFound("任用记录", str(appointment_id))
        writer(p, row["division_code"], STATISTICIANS, "登记工作量")
        wid = name_id("workload", appointment_id, period)
        version = await current_version(uow.conn, rt.store, "workload", wid)
        append(uow, "workload", wid, version,
               ev.WorkloadRecorded(appointment_id=appointment_id, period=period,
                                   units=cmd.units), p, key)
        await uow.flush()
        return uow.respond(200, {"appointment_id": str(appointment_id), "period": period,
                                 "units": cmd.units})


async def record_training(rt: ServiceRuntime, p: Principal, cmd: RecordTraining,
                          key: str | None) -> tuple[int, dict[str, Any]]:
    """培训班: held by the region, a city, a county (or a township for its villages)."""
    lv = level_of(cmd.division_code)
    if lv is Level.village:
        raise AppError(422, "wrong_level", "培训举办单位应为自治区、市、县或乡镇",
                       field="division_code")
    writer(p, cmd.division_code, STATISTICIANS, "登记培训")
    s = rt.settings.schema
    async with unit_of_work(rt, p, key, {"op": "training", **cmd.model_dump(mode="json")}) as uow:
        if uow.replayed:
            return uow.replayed
        await division_name(uow.conn, s, cmd.division_code, "division_code")
        ids = [a.appointment_id for a in cmd.attendance]
        if len(set(ids)) != len(ids):
            raise AppError(422, "duplicate_attendee", "出勤名单中有重复人员", field="attendance")
        known = {r["appointment_id"] for r in await uow.conn.fetch(
            f"SELECT appointment_id FROM {s}.appointments WHERE appointment_id = ANY($1) "
            f"AND division_code LIKE $2", ids, jurisdiction(p) + "%")}
        for i, a in enumerate(cmd.attendance):
            if a.appointment_id not in known:
                raise AppError(422, "unknown_attendee",
                               f"出勤人员（attendance.{i}）不在您管辖范围的任用记录中",
                               field=f"attendance.{i}.appointment_id")
        sid = uuid.uuid4()
        append(uow, "training", sid, 0, ev.TrainingRecorded(
            session_id=sid, level=lv, attendance=[ev.Attendance(**a.model_dump())
                                                  for a in cmd.attendance],
            **cmd.model_dump(exclude={"attendance"})), p, key)
        await uow.flush()
        return uow.respond(201, {"session_id": str(sid), "attendees": len(ids)})


async def score_assessment(rt: ServiceRuntime, p: Principal, cmd: ScoreAssessment,
                           key: str | None) -> tuple[int, dict[str, Any]]:
    """规范化建设考核: the county scores its townships on the latest criteria version."""
    require_level(cmd.township_code, {Level.township}, "township_code", "考核对象")
    writer(p, cmd.township_code, {"county_statistician"}, "考核评分")
    crit = assessment.latest()
    unknown, missing = crit.unknown(dict(cmd.scores)), crit.missing(dict(cmd.scores))
    if unknown:
        raise AppError(422, "unknown_criterion", f"考核项目不存在：{unknown[0]}",
                       field=f"scores.{unknown[0]}")
    if missing:
        raise AppError(422, "criterion_missing", f"缺少考核项目得分：{missing[0]}",
                       field=f"scores.{missing[0]}")
    total = crit.total(dict(cmd.scores))
    async with unit_of_work(rt, p, key, {"op": "assess", **cmd.model_dump(mode="json")}) as uow:
        if uow.replayed:
            return uow.replayed
        await division_name(uow.conn, rt.settings.schema, cmd.township_code, "township_code")
        aid = name_id("assessment", cmd.year, cmd.township_code)
        version = await current_version(uow.conn, rt.store, "assessment", aid)
        append(uow, "assessment", aid, version, ev.AssessmentScored(
            assessment_id=aid, year=cmd.year, township_code=cmd.township_code,
            criteria_version=crit.version, scores=dict(cmd.scores), total=total,
            model_standard=crit.reaches_model(total)), p, key)
        await uow.flush()
        return uow.respond(200, {"township_code": cmd.township_code, "total": total,
                                 "model_standard": crit.reaches_model(total),
                                 "criteria_version": crit.version,
                                 "illustrative": crit.illustrative})
