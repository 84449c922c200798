"""HTTP routes of the population service (/api/v1/population/...): parse, principal, delegate.

No personal data in any path or query: households and persons are named by their uuids."""
from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, Header, Path, Query, Request
from fastapi.responses import JSONResponse, Response

from gx_contracts.commands.population import (
    AssignEnumerator,
    ConfirmReadBack,
    ErasePerson,
    HandIn,
    ImportAreas,
    PublishExam,
    Recheck,
    RecordRosterReview,
    RevealIdNumber,
    SaveHousehold,
    SaveRoster,
    TakeExam,
    VerifyArea,
)
from gx_kernel.http import principal, runtime
from gx_kernel.http import reply as _reply
from gx_kernel.identity import Principal

from gx_population.api.area_models import CorrectArea
from gx_population.application import (
    area_map,
    areas,
    corrections,
    erasure,
    reading,
    registration,
    roster,
)

router = APIRouter(prefix="/api/v1/population", tags=["population"])
IdemKey = Header(None, alias="Idempotency-Key", max_length=200)
Year = Path(ge=2020, le=2100, description="调查年度")
NO_STORE = {"Cache-Control": "no-store"}




def _private(body: dict) -> JSONResponse:
    return JSONResponse(body, headers=NO_STORE)


@router.get("/forms/current")
async def current_form(p: Principal = Depends(principal)) -> dict:
    """当年表式（户表、个人表、代码表、审核规则）."""
    import json

    from gx_population.domain.forms import FORMS_DIR, available_versions
    v = available_versions()[-1]
    return json.loads((FORMS_DIR / f"population_change_{v}.json").read_text(encoding="utf-8"))


@router.get("/forms/{version}")
async def form_version(version: str = Path(max_length=20),
                       p: Principal = Depends(principal)) -> dict:
    """A household's own 表式 (its `form_version`): the code lists its answers were entered in."""
    import json

    from gx_kernel.errors import NotFound

    from gx_population.domain.forms import FORMS_DIR, available_versions
    if version not in available_versions():  # only the published files, never a path
        raise NotFound("表式版本", version)
    return json.loads((FORMS_DIR / f"population_change_{version}.json").read_text(encoding="utf-8"))


@router.put("/exams/{year}")
async def publish_exam(cmd: PublishExam, year: int = Year, p: Principal = Depends(principal),
                       rt=Depends(runtime), key: str | None = IdemKey):
    return _reply(await areas.publish_exam(rt, p, year, cmd, key))


@router.get("/exams/{year}")
async def get_exam(year: int = Year, p: Principal = Depends(principal),
                   rt=Depends(runtime)) -> dict:
    return await areas.get_exam(rt, p, year)


@router.post("/exams/{year}/attempts")
async def take_exam(cmd: TakeExam, year: int = Year, p: Principal = Depends(principal),
                    rt=Depends(runtime), key: str | None = IdemKey):
    return _reply(await areas.take_exam(rt, p, year, cmd, key))


@router.post("/areas/import")
async def import_areas(cmd: ImportAreas, p: Principal = Depends(principal), rt=Depends(runtime),
                       key: str | None = IdemKey):
    return _reply(await areas.import_areas(rt, p, cmd, key))


@router.get("/areas")
async def list_areas(survey_year: int = Query(2026, ge=2020, le=2100),
                     p: Principal = Depends(principal), rt=Depends(runtime)) -> dict:
    return await areas.list_areas(rt, p, survey_year)


@router.post("/areas/{area_id}/assignments")
async def assign(area_id: uuid.UUID, cmd: AssignEnumerator, p: Principal = Depends(principal),
                 rt=Depends(runtime), key: str | None = IdemKey):
    return _reply(await areas.assign(rt, p, area_id, cmd, key))


@router.post("/areas/{area_id}/verification")
async def verify(area_id: uuid.UUID, cmd: VerifyArea, p: Principal = Depends(principal),
                 rt=Depends(runtime), key: str | None = IdemKey):
    return _reply(await areas.verify(rt, p, area_id, cmd, key))


@router.post("/areas/{area_id}/corrections")
async def correct_area(area_id: uuid.UUID, cmd: CorrectArea, p: Principal = Depends(principal),
                       rt=Depends(runtime), key: str | None = IdemKey):
    """调查小区核实更正：上报逐级审批（村 → 乡镇 → 县），验收后才更改核实数据."""
    return _reply(await corrections.correct(rt, p, area_id, cmd, key))


@router.put("/areas/{area_id}/map", openapi_extra={"requestBody": {"content": {
    "image/png": {"schema": {"type": "string", "format": "binary",
                               "maxLength": 1_000_000}},
    "image/jpeg": {"schema": {"type": "string", "format": "binary",
                               "maxLength": 1_000_000}}}}})
async def upload_map(area_id: uuid.UUID, request: Request, p: Principal = Depends(principal),
                     rt=Depends(runtime), key: str | None = IdemKey):
    """上传小区图（手绘草图，PNG 或 JPEG，请求体为图片本身）."""
    return _reply(await area_map.upload(rt, p, area_id, await request.body(),
                                        request.headers.get("content-type"), key))


@router.get("/areas/{area_id}/map", response_class=Response)
async def get_map(area_id: uuid.UUID, p: Principal = Depends(principal), rt=Depends(runtime)):
    body, ctype, digest = await area_map.download(rt, p, area_id)
    return Response(body, media_type=ctype, headers={
        "Cache-Control": "private, max-age=0, must-revalidate", "ETag": f'"{digest}"',
        "X-Content-Type-Options": "nosniff", "Content-Disposition": "inline"})


@router.put("/areas/{area_id}/roster")
async def save_roster(area_id: uuid.UUID, cmd: SaveRoster, p: Principal = Depends(principal),
                      rt=Depends(runtime), key: str | None = IdemKey):
    """户主姓名底册（摸底）."""
    return _reply(await roster.save_roster(rt, p, area_id, cmd, key))


@router.get("/areas/{area_id}/roster")
async def get_roster(area_id: uuid.UUID, p: Principal = Depends(principal), rt=Depends(runtime)):
    return _private(await roster.get_roster(rt, p, area_id))


@router.post("/areas/{area_id}/roster/reviews")
async def review_roster(area_id: uuid.UUID, cmd: RecordRosterReview,
                        p: Principal = Depends(principal), rt=Depends(runtime),
                        key: str | None = IdemKey):
    """底册复议记录."""
    return _reply(await roster.record_review(rt, p, area_id, cmd, key))


@router.post("/areas/{area_id}/households")
async def save_household(area_id: uuid.UUID, cmd: SaveHousehold,
                         p: Principal = Depends(principal), rt=Depends(runtime),
                         key: str | None = IdemKey):
    """登记（保存）住户表：户表与全部个人表；每次保存后须重新回读确认."""
    return _reply(await registration.save_household(rt, p, area_id, cmd, key))


@router.get("/households")
async def list_households(area_id: uuid.UUID | None = None,
                          limit: int = Query(500, ge=1, le=5000),
                          offset: int = Query(0, ge=0, le=1_000_000),
                          p: Principal = Depends(principal), rt=Depends(runtime)) -> dict:
    return await reading.list_households(rt, p, area_id, limit, offset)


@router.get("/households/{household_id}")
async def get_household(household_id: uuid.UUID, p: Principal = Depends(principal),
                        rt=Depends(runtime)):
    return _private(await reading.get_household(rt, p, household_id))


@router.get("/households/{household_id}/readback")
async def readback(household_id: uuid.UUID, p: Principal = Depends(principal),
                   rt=Depends(runtime)):
    """回读屏：以通俗文字列出全部登记内容."""
    return _private(await reading.readback_text(rt, p, household_id))


@router.post("/households/{household_id}/readback")
async def confirm_readback(household_id: uuid.UUID, cmd: ConfirmReadBack,
                           p: Principal = Depends(principal), rt=Depends(runtime),
                           key: str | None = IdemKey):
    return _reply(await registration.confirm_readback(rt, p, household_id, cmd, key))


@router.post("/households/{household_id}/hand-in")
async def hand_in(household_id: uuid.UUID, cmd: HandIn, p: Principal = Depends(principal),
                  rt=Depends(runtime), key: str | None = IdemKey):
    return _reply(await registration.hand_in(rt, p, household_id, cmd, key))


@router.post("/households/{household_id}/recheck")
async def recheck(household_id: uuid.UUID, cmd: Recheck, p: Principal = Depends(principal),
                  rt=Depends(runtime), key: str | None = IdemKey):
    return _reply(await registration.recheck(rt, p, household_id, cmd, key))


@router.post("/households/{household_id}/persons/{person_id}/reveal")
async def reveal(household_id: uuid.UUID, person_id: uuid.UUID, cmd: RevealIdNumber,
                 p: Principal = Depends(principal), rt=Depends(runtime)):
    """查看完整公民身份号码（记入审计，不缓存）."""
    return _private(await reading.reveal_id_number(rt, p, household_id, person_id,
                                                   cmd.reason_code))


@router.post("/households/{household_id}/persons/{person_id}/erase")
async def erase_person(household_id: uuid.UUID, person_id: uuid.UUID, cmd: ErasePerson,
                       p: Principal = Depends(principal), rt=Depends(runtime),
                       key: str | None = IdemKey):
    return _reply(await erasure.erase(rt, p, household_id, person_id, cmd, key))


@router.post("/households/{household_id}/erase")
async def erase_household(household_id: uuid.UUID, cmd: ErasePerson,
                          p: Principal = Depends(principal), rt=Depends(runtime),
                          key: str | None = IdemKey):
    return _reply(await erasure.erase(rt, p, household_id, None, cmd, key))


@router.get("/access-log")
async def access_log(household_id: uuid.UUID | None = None,
                     limit: int = Query(200, ge=1, le=2000),
                     offset: int = Query(0, ge=0, le=1_000_000),
                     p: Principal = Depends(principal), rt=Depends(runtime)) -> dict:
    """个人信息访问审计记录（自治区）."""
    return await reading.access_log(rt, p, household_id, limit, offset)
