"""HTTP routes of the organisation service (/api/v1/organisation/...): parse, principal, delegate."""
from __future__ import annotations

import uuid
from datetime import date
from typing import Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, Header, Path, Query
from fastapi.responses import HTMLResponse, Response

from gx_contracts.commands.organisation import (
    ChooseCounty,
    EndAppointment,
    FilePlan,
    RecordAppointment,
    RecordLeadingGroup,
    RecordOffice,
    RecordTraining,
    RecordWorkload,
    SaveProgressDraft,
    ScopeFromDocument,
    ScopeReform,
    ScoreAssessment,
    SetSubsidyRates,
    SubmitProgressReport,
)
from gx_kernel.http import principal, runtime
from gx_kernel.http import reply as _reply
from gx_kernel.identity import Principal

from gx_organisation.application import dashboard, people, progress, queries, records, reform
from gx_organisation.domain import assessment

router = APIRouter(prefix="/api/v1/organisation", tags=["organisation"])
routers = [router]
IdemKey = Header(None, alias="Idempotency-Key", max_length=200)
Division = Query(None, pattern=r"^[1-9][0-9]{11}$", description="区划代码（默认本人所属区划）")
Year = Query(..., ge=2019, le=2100)
County = Path(..., pattern=r"^[1-9][0-9]{11}$")
Period = Query(..., pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$", description="月份 YYYY-MM")
Format = Literal["csv", "xlsx"]




def _disposition(kind: str, name: str) -> str:
    ascii_name = "gxstat." + name.rsplit(".", 1)[-1]
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


# -- offices and people -------------------------------------------------------------------
@router.post("/offices")
async def record_office(cmd: RecordOffice, p: Principal = Depends(principal),
                        rt=Depends(runtime), key: str | None = IdemKey):
    """登记（或更新，expected_version = 当前版本）统计工作机构."""
    return _reply(await people.record_office(rt, p, cmd, key))


@router.get("/offices")
async def list_offices(division: str | None = Division, p: Principal = Depends(principal),
                       rt=Depends(runtime)) -> dict:
    return await queries.offices(rt, p, division)


@router.post("/appointments", status_code=201)
async def appoint(cmd: RecordAppointment, p: Principal = Depends(principal),
                  rt=Depends(runtime), key: str | None = IdemKey):
    return _reply(await people.record_appointment(rt, p, cmd, key))


@router.put("/appointments/{appointment_id}")
async def correct_appointment(appointment_id: uuid.UUID, cmd: RecordAppointment,
                              p: Principal = Depends(principal), rt=Depends(runtime),
                              key: str | None = IdemKey):
    return _reply(await people.record_appointment(rt, p, cmd, key, appointment_id))


@router.post("/appointments/{appointment_id}/end")
async def end_appointment(appointment_id: uuid.UUID, cmd: EndAppointment,
                          p: Principal = Depends(principal), rt=Depends(runtime),
                          key: str | None = IdemKey):
    return _reply(await people.end_appointment(rt, p, appointment_id, cmd, key))


@router.get("/appointments")
async def list_appointments(division: str | None = Division,
                            role: str | None = Query(None, pattern=r"^[a-z_]{1,32}$"),
                            active: bool = True, p: Principal = Depends(principal),
                            rt=Depends(runtime)) -> dict:
    return await queries.appointments(rt, p, division, role, active)


# -- the reform ---------------------------------------------------------------------------
@router.post("/reforms")
async def scope_reform(cmd: ScopeReform, p: Principal = Depends(principal), rt=Depends(runtime),
                       key: str | None = IdemKey):
    return _reply(await reform.scope_reform(rt, p, cmd, key))


@router.post("/reforms/from-document")
async def scope_from_document(cmd: ScopeFromDocument, p: Principal = Depends(principal),
                              rt=Depends(runtime), key: str | None = IdemKey):
    """按已收录文件（桂统字〔2019〕52号）登记改革范围与时间安排."""
    return _reply(await reform.scope_from_document(rt, p, cmd, key))


@router.get("/reforms/{year}")
async def get_reform(year: int = Path(..., ge=2019, le=2100), p: Principal = Depends(principal),
                     rt=Depends(runtime)) -> dict:
    return await queries.reform(rt, p, year)


@router.post("/reforms/{year}/choices", status_code=201)
async def choose(cmd: ChooseCounty, year: int = Path(..., ge=2019, le=2100),
                 p: Principal = Depends(principal), rt=Depends(runtime),
                 key: str | None = IdemKey):
    return _reply(await reform.choose_county(rt, p, year, cmd, key))


@router.post("/plans")
async def file_plan(cmd: FilePlan, p: Principal = Depends(principal), rt=Depends(runtime),
                    key: str | None = IdemKey):
    return _reply(await reform.file_plan(rt, p, cmd, key))


@router.post("/leading-groups")
async def record_group(cmd: RecordLeadingGroup, p: Principal = Depends(principal),
                       rt=Depends(runtime), key: str | None = IdemKey):
    return _reply(await reform.record_group(rt, p, cmd, key))


# -- progress reports ---------------------------------------------------------------------
@router.get("/progress-reports")
async def list_reports(year: int = Year, division: str | None = Division,
                       p: Principal = Depends(principal), rt=Depends(runtime)) -> dict:
    return await queries.progress_reports(rt, p, year, division)


@router.get("/progress-reports/{county_code}/{due_date}")
async def get_report(due_date: date, county_code: str = County,
                     p: Principal = Depends(principal), rt=Depends(runtime)) -> dict:
    return await queries.progress_report(rt, p, county_code, due_date)


@router.put("/progress-reports/{county_code}/{due_date}/draft")
async def save_draft(due_date: date, cmd: SaveProgressDraft, county_code: str = County,
                     p: Principal = Depends(principal), rt=Depends(runtime),
                     key: str | None = IdemKey):
    return _reply(await progress.save_draft(rt, p, county_code, due_date, cmd, key))


@router.post("/progress-reports/{county_code}/{due_date}/submit")
async def submit(due_date: date, cmd: SubmitProgressReport, county_code: str = County,
                 p: Principal = Depends(principal), rt=Depends(runtime),
                 key: str | None = IdemKey):
    return _reply(await progress.submit(rt, p, county_code, due_date, cmd, key))


# -- subsidies, training, assessment --------------------------------------------------------
@router.post("/subsidy-rates")
async def set_rates(cmd: SetSubsidyRates, p: Principal = Depends(principal),
                    rt=Depends(runtime), key: str | None = IdemKey):
    return _reply(await records.set_rates(rt, p, cmd, key))


@router.put("/appointments/{appointment_id}/workload/{period}")
async def workload(appointment_id: uuid.UUID, cmd: RecordWorkload,
                   period: str = Path(..., pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$"),
                   p: Principal = Depends(principal), rt=Depends(runtime),
                   key: str | None = IdemKey):
    return _reply(await records.record_workload(rt, p, appointment_id, period, cmd, key))


@router.get("/subsidies")
async def subsidies(period: str = Period, division: str | None = Division,
                    format: Literal["json", "csv"] = "json", p: Principal = Depends(principal),
                    rt=Depends(runtime)):
    """工作补助：每人应发金额及按区划汇总；format=csv 导出."""
    d = await queries.subsidies(rt, p, period, division)
    if format == "json":
        return d
    import csv
    import io
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["区划代码", "区划名称", "姓名", "岗位", "计发方式", "标准（元）", "工作量（件）", "应发金额（元）"])
    for i in d["items"]:
        w.writerow([i["division_code"], i["division_name"], i["person_name"], i["role_zh"],
                    "按月" if i["basis"] == "monthly" else "按工作量", i["rate"], i["units"],
                    i["amount"]])
    w.writerow(["", "合计", "", "", "", "", "", d["total"]])
    return Response(("\ufeff" + buf.getvalue()).encode("utf-8"),
                    media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": _disposition(
                        "attachment", f"工作补助{period}.csv")})


@router.post("/trainings", status_code=201)
async def record_training(cmd: RecordTraining, p: Principal = Depends(principal),
                          rt=Depends(runtime), key: str | None = IdemKey):
    return _reply(await records.record_training(rt, p, cmd, key))


@router.get("/trainings")
async def trainings(year: int = Year, division: str | None = Division,
                    p: Principal = Depends(principal), rt=Depends(runtime)) -> dict:
    return await queries.training(rt, p, year, division)


@router.get("/assessment/criteria")
async def criteria(p: Principal = Depends(principal)) -> dict:
    """考核标准（各版本；当前为示例标准，非正式）."""
    return {"versions": [c.as_dict() for c in assessment.all_versions()]}


@router.post("/assessments")
async def score(cmd: ScoreAssessment, p: Principal = Depends(principal), rt=Depends(runtime),
                key: str | None = IdemKey):
    return _reply(await records.score_assessment(rt, p, cmd, key))


@router.get("/assessments")
async def assessments(year: int = Year, division: str | None = Division,
                      p: Principal = Depends(principal), rt=Depends(runtime)) -> dict:
    return await queries.assessments(rt, p, year, division)


# -- dashboard ----------------------------------------------------------------------------
@router.get("/dashboard")
async def overview(division: str | None = Division, year: int | None = Query(None, ge=2019,
                                                                             le=2100),
                   p: Principal = Depends(principal), rt=Depends(runtime)) -> dict:
    return await dashboard.dashboard(rt, p, division, year)


@router.get("/dashboard/export")
async def export(division: str | None = Division, year: int | None = Query(None, ge=2019,
                                                                           le=2100),
                 format: Format = "csv", p: Principal = Depends(principal),
                 rt=Depends(runtime)) -> Response:
    d = await dashboard.dashboard(rt, p, division, year)
    if format == "csv":
        body, media = dashboard.to_csv(d), "text/csv; charset=utf-8"
    else:
        body = dashboard.to_xlsx(d)
        media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(body, media_type=media, headers={
        "Content-Disposition": _disposition("attachment", f"{dashboard.file_name(d)}.{format}")})


@router.get("/dashboard/print", response_class=HTMLResponse)
async def printable(division: str | None = Division, year: int | None = Query(None, ge=2019,
                                                                              le=2100),
                    p: Principal = Depends(principal), rt=Depends(runtime)) -> HTMLResponse:
    """打印用汇总表（A4 横向）."""
    d = await dashboard.dashboard(rt, p, division, year)
    return HTMLResponse(dashboard.printable(d), headers={"Cache-Control": "no-store"})
