"""The reform (改革): its scope and phases, cities' choices, filed plans, leading groups."""
from __future__ import annotations

import json
from typing import Any

from gx_contracts.commands.organisation import (
    ChooseCounty,
    FilePlan,
    RecordLeadingGroup,
    ScopeFromDocument,
    ScopeReform,
)
from gx_contracts.divisions import Level, ancestor_at
from gx_contracts.events import organisation as ev
from gx_kernel.errors import AppError
from gx_kernel.identity import Principal
from gx_kernel.service import ServiceRuntime

from gx_organisation.application.access import require_level, writer
from gx_organisation.application.unit import (
    append,
    current_version,
    division_name,
    name_id,
    unit_of_work,
)
from gx_organisation.domain import reform as domain


async def scope_reform(rt: ServiceRuntime, p: Principal, cmd: ScopeReform,
                       key: str | None) -> tuple[int, dict[str, Any]]:
    """登记改革范围（自治区统计局）; a later call for the same year replaces the scope."""
    writer(p, "450000000000", {"region_statistician"}, "登记改革范围")
    s = rt.settings.schema
    for i, c in enumerate(cmd.counties):
        require_level(c.county_code, {Level.county}, f"counties.{i}.county_code", "改革范围")
    for i, d in enumerate(cmd.report_due_dates):
        if d.year != cmd.year:
            raise AppError(422, "due_outside_year", f"报送截止日 {d} 不在 {cmd.year} 年度内",
                           field=f"report_due_dates.{i}")
    for i, ph in enumerate(cmd.phases):
        if ph.end < ph.start:
            raise AppError(422, "phase_dates", f"阶段“{ph.name}”的结束日期早于开始日期",
                           field=f"phases.{i}.end")
    async with unit_of_work(rt, p, key, {"op": "scope", **cmd.model_dump(mode="json")}) as uow:
        if uow.replayed:
            return uow.replayed
        for i, c in enumerate(cmd.counties):
            await division_name(uow.conn, s, c.county_code, f"counties.{i}.county_code")
        rid = name_id("reform", cmd.year)
        version = await current_version(uow.conn, rt.store, "reform", rid)
        append(uow, "reform", rid, version,
               ev.ReformScoped(reform_id=rid, **cmd.model_dump()), p, key)
        stored = await uow.flush()
        return uow.respond(201 if version == 0 else 200,
                           {"reform_id": str(rid), "year": cmd.year,
                            "counties": len(cmd.counties), "version": stored[-1].version})


async def scope_from_document(rt: ServiceRuntime, p: Principal, cmd: ScopeFromDocument,
                              key: str | None) -> tuple[int, dict[str, Any]]:
    data = domain.document_scope(cmd.document_no)
    if data is None:
        raise AppError(422, "unknown_document",
                       f"未收录文件“{cmd.document_no}”；已收录：" + "、".join(domain.DOCUMENTS),
                       field="document_no")
    if cmd.year is not None and cmd.year != data["year"]:
        raise AppError(422, "document_year", f"文件“{cmd.document_no}”的年度是 {data['year']}",
                       field="year")
    return await scope_reform(rt, p, ScopeReform.model_validate(data), key)


async def choose_county(rt: ServiceRuntime, p: Principal, year: int, cmd: ChooseCounty,
                        key: str | None) -> tuple[int, dict[str, Any]]:
    """市统计局选取试点县（区）: only a city the document asks to choose, inside that city."""
    require_level(cmd.county_code, {Level.county}, "county_code", "试点县（区）")
    city = ancestor_at(cmd.county_code, Level.city)
    writer(p, cmd.county_code, {"city_statistician", "region_statistician"}, "选取试点县（区）")
    s = rt.settings.schema
    async with unit_of_work(rt, p, key, {"op": "choose", "year": year,
                                         **cmd.model_dump(mode="json")}) as uow:
        if uow.replayed:
            return uow.replayed
        row = await uow.conn.fetchrow(f"SELECT choosing_cities FROM {s}.reforms WHERE year=$1",
                                      year)
        if row is None:
            raise AppError(404, "reform_not_found", f"{year} 年度尚未登记改革范围")
        if city not in _json(row["choosing_cities"]):
            raise AppError(422, "city_not_choosing", "文件未要求该市自选试点县（区）",
                           field="county_code")
        await division_name(uow.conn, s, cmd.county_code, "county_code")
        rid = name_id("reform", year)
        version = await current_version(uow.conn, rt.store, "reform", rid)
        append(uow, "reform", rid, version,
               ev.ReformCountyChosen(reform_id=rid, year=year, city_code=city,
                                     county_code=cmd.county_code), p, key)
        await uow.flush()
        return uow.respond(201, {"year": year, "city_code": city, "county_code": cmd.county_code})


async def file_plan(rt: ServiceRuntime, p: Principal, cmd: FilePlan,
                    key: str | None) -> tuple[int, dict[str, Any]]:
    """实施方案备案: a city's or a county's own plan (52号 六(二))."""
    lv = require_level(cmd.division_code, {Level.city, Level.county}, "division_code",
                       "实施方案")
    own = {Level.city: "city_statistician", Level.county: "county_statistician"}[lv]
    writer(p, cmd.division_code, {own, "region_statistician"}, "备案实施方案")
    return await _record(rt, p, key, "plan", cmd.year, cmd.division_code, cmd.expected_version,
                         lambda pid: ev.PlanFiled(plan_id=pid, **cmd.model_dump(
                             exclude={"expected_version"})), cmd.model_dump(mode="json"))


async def record_group(rt: ServiceRuntime, p: Principal, cmd: RecordLeadingGroup,
                       key: str | None) -> tuple[int, dict[str, Any]]:
    """领导小组 of the region, a city or a county."""
    require_level(cmd.division_code, {Level.region, Level.city, Level.county}, "division_code",
                  "领导小组")
    writer(p, cmd.division_code, {"region_statistician", "city_statistician",
                                  "county_statistician"}, "登记领导小组")
    return await _record(rt, p, key, "group", cmd.year, cmd.division_code, cmd.expected_version,
                         lambda gid: ev.LeadingGroupRecorded(group_id=gid, **cmd.model_dump(
                             exclude={"expected_version"})), cmd.model_dump(mode="json"))


async def _record(rt: ServiceRuntime, p: Principal, key: str | None, kind: str, year: int,
                  division: str, expected: int, make: Any, dumped: dict[str, Any]
                  ) -> tuple[int, dict[str, Any]]:
    s = rt.settings.schema
    async with unit_of_work(rt, p, key, {"op": kind, **dumped}) as uow:
        if uow.replayed:
            return uow.replayed
        await division_name(uow.conn, s, division, "division_code")
        rid = name_id(kind, year, division)
        append(uow, kind, rid, expected, make(rid), p, key)
        stored = await uow.flush()
        return uow.respond(201 if expected == 0 else 200,
                           {"id": str(rid), "version": stored[-1].version})


def _json(v: Any) -> Any:
    return json.loads(v) if isinstance(v, str) else v
