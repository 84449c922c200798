"""Survey areas (调查小区) and enumerator certification (调查员培训考试).

The region imports the year's sampled areas and publishes the year's test (question bank
and pass mark are data); a grid worker who passes is certified for that year; the village
coordinator (or a level above) assigns enumerators to an area and verifies it.
"""
from __future__ import annotations

import uuid
from typing import Any

from gx_contracts.commands.population import (
    AssignEnumerator,
    ImportAreas,
    PublishExam,
    TakeExam,
    VerifyArea,
)
from gx_contracts.divisions import Level, contains, load_divisions
from gx_contracts.events.base import event_fields
from gx_contracts.events.population import (
    AreaAssigned,
    AreaImported,
    AreaProposal,
    AreaVerified,
    EnumeratorTested,
    ExamPublished,
)
from gx_contracts.ids import stream_id
from gx_kernel.errors import AppError, Forbidden, NotFound
from gx_kernel.eventstore import NewEvent
from gx_kernel.identity import Principal
from gx_kernel.service import ServiceRuntime

from gx_population.adapters import repo
from gx_population.application import corrections
from gx_population.application.access import NS, jurisdiction, metadata, require_role, unit_of_work

REGION = {"region_statistician"}
ASSIGNERS = {"village_coordinator", "township_statistician", "county_statistician"}


def area_id_for(year: int, code: str) -> uuid.UUID:
    return uuid.uuid5(NS, f"area:{year}:{code}")


def _exam_stream(year: int) -> str:
    return stream_id("exam", uuid.uuid5(NS, f"exam:{year}"))


async def publish_exam(rt: ServiceRuntime, p: Principal, year: int, cmd: PublishExam,
                       key: str | None) -> tuple[int, dict[str, Any]]:
    require_role(p, REGION, "发布调查员培训考试")
    async with unit_of_work(rt, p, key, {"op": "exam", "y": year,
                                         **cmd.model_dump(mode="json")}) as uow:
        if uow.replayed:
            return uow.replayed
        ids = [q.id for q in cmd.questions]
        if len(set(ids)) != len(ids):
            raise AppError(422, "duplicate_question", "题号不能重复", field="questions")
        for i, q in enumerate(cmd.questions):
            if q.answer >= len(q.options):
                raise AppError(422, "bad_answer", f"第{i + 1}题的正确选项序号超出选项个数",
                               field=f"questions.{i}.answer")
        event = ExamPublished(survey_year=year, pass_mark=cmd.pass_mark,
                              questions=[q.model_dump() for q in cmd.questions])  # type: ignore[misc]
        uow.collect(_exam_stream(year), None, [NewEvent(**event_fields(event))], metadata(p, key))
        await uow.flush()
        return uow.respond(200, {"survey_year": year, "pass_mark": cmd.pass_mark,
                                 "questions": len(ids)})


async def get_exam(rt: ServiceRuntime, p: Principal, year: int) -> dict[str, Any]:
    async with rt.pool.acquire() as conn:
        exam = await repo.exam(conn, rt.settings.schema, year)
        cert = await repo.certification(conn, rt.settings.schema, p.user_id, year)
    if exam is None:
        raise NotFound("培训考试", str(year))
    show_answers = p.role == "region_statistician"
    return {"survey_year": year, "pass_mark": exam["pass_mark"],
            "questions": [{k: v for k, v in q.items() if show_answers or k != "answer"}
                          for q in exam["questions"]],
            "certified": bool(cert and cert["passed"]),
            "best_score": cert["best_score"] if cert else None}


async def take_exam(rt: ServiceRuntime, p: Principal, year: int, cmd: TakeExam,
                    key: str | None) -> tuple[int, dict[str, Any]]:
    require_role(p, {"grid_worker"}, "参加调查员培训考试（网格员）")
    s = rt.settings.schema
    async with unit_of_work(rt, p, key, {"op": "take", "y": year,
                                         **cmd.model_dump(mode="json")}) as uow:
        if uow.replayed:
            return uow.replayed
        exam = await repo.exam(uow.conn, s, year)
        if exam is None:
            raise NotFound("培训考试", str(year))
        questions = exam["questions"]
        unknown = set(cmd.answers) - {q["id"] for q in questions}
        if unknown:
            raise AppError(422, "unknown_question", "答卷中有题库中没有的题号", field="answers")
        right = sum(1 for q in questions if cmd.answers.get(q["id"]) == q["answer"])
        score = round(100 * right / len(questions))
        passed = score >= exam["pass_mark"]
        event = EnumeratorTested(user_id=p.user_id, username=p.username, survey_year=year,
                                 score=score, pass_mark=exam["pass_mark"], passed=passed)
        uow.collect(stream_id("enumerator", uuid.uuid5(NS, f"enumerator:{p.user_id}")), None,
                    [NewEvent(**event_fields(event))], metadata(p, key))
        await uow.flush()
        return uow.respond(200, {"survey_year": year, "score": score,
                                 "pass_mark": exam["pass_mark"], "passed": passed,
                                 "certified": passed or bool(
                                     (await repo.certification(uow.conn, s, p.user_id, year) or
                                      {}).get("passed"))})


async def import_areas(rt: ServiceRuntime, p: Principal, cmd: ImportAreas,
                       key: str | None) -> tuple[int, dict[str, Any]]:
    require_role(p, REGION, "导入调查小区")
    divisions = load_divisions()
    s = rt.settings.schema
    async with unit_of_work(rt, p, key, {"op": "areas", **cmd.model_dump(mode="json")}) as uow:
        if uow.replayed:
            return uow.replayed
        seen: set[str] = set()
        created = 0
        for i, item in enumerate(cmd.items):
            village = item.area_code[:12]
            d = divisions.get(village)
            if d is None or d.level is not Level.village:
                raise AppError(422, "unknown_village", f"第{i + 1}个调查小区代码的前12位不是村级区划代码",
                               field=f"items.{i}.area_code")
            if not contains(jurisdiction(p), village):
                raise Forbidden("调查小区超出您的管辖范围", code="outside_jurisdiction")
            if item.area_code in seen:
                raise AppError(422, "duplicate_area", f"第{i + 1}个调查小区代码重复",
                               field=f"items.{i}.area_code")
            seen.add(item.area_code)
            aid = area_id_for(cmd.survey_year, item.area_code)
            if await repo.area(uow.conn, s, aid) is not None:
                continue  # imported before: the import is safe to repeat
            event = AreaImported(area_id=aid, survey_year=cmd.survey_year,
                                 area_code=item.area_code, village_code=village, name=item.name,
                                 urban_rural_code=item.urban_rural_code)
            uow.collect(stream_id("area", aid), 0, [NewEvent(**event_fields(event))],
                        metadata(p, key))
            created += 1
        await uow.flush()
        return uow.respond(200, {"survey_year": cmd.survey_year, "imported": created,
                                 "already": len(cmd.items) - created})


async def _area(conn: Any, s: str, p: Principal, area_id: uuid.UUID) -> dict[str, Any]:
    area = await repo.area(conn, s, area_id, lock=True)
    if area is None or not contains(jurisdiction(p), area["village_code"]):
        raise NotFound("调查小区", str(area_id))
    return area


async def assign(rt: ServiceRuntime, p: Principal, area_id: uuid.UUID, cmd: AssignEnumerator,
                 key: str | None) -> tuple[int, dict[str, Any]]:
    require_role(p, ASSIGNERS, "分配调查员")
    s = rt.settings.schema
    async with unit_of_work(rt, p, key, {"op": "assign", "a": str(area_id),
                                         **cmd.model_dump()}) as uow:
        if uow.replayed:
            return uow.replayed
        area = await _area(uow.conn, s, p, area_id)
        event = AreaAssigned(area_id=area_id, username=cmd.username, assigned=cmd.assigned)
        uow.collect(stream_id("area", area_id), area["version"], [NewEvent(**event_fields(event))],
                    metadata(p, key))
        await uow.flush()
        fresh = await repo.area(uow.conn, s, area_id)
        return uow.respond(200, {"area_id": str(area_id),
                                 "enumerators": list(fresh["enumerators"]) if fresh else []})


async def verify(rt: ServiceRuntime, p: Principal, area_id: uuid.UUID, cmd: VerifyArea,
                 key: str | None) -> tuple[int, dict[str, Any]]:
    """The first verification records the boundary and the buildings at once; a name or
    urban–rural attribute other than what was sent down — and any later change — is a
    correction that climbs the chain (corrections.py) and changes the area only when accepted."""
    require_role(p, {"village_coordinator"}, "核实调查小区（村级统计协管员）")
    s = rt.settings.schema
    async with unit_of_work(rt, p, key, {"op": "verify", "a": str(area_id),
                                         **cmd.model_dump()}) as uow:
        if uow.replayed:
            return uow.replayed
        area = await corrections.coordinator_area(uow.conn, s, p, area_id, "核实调查小区")
        cur = corrections.current(area)
        proposal = AreaProposal(boundary=cmd.boundary, buildings=cmd.buildings, name=cmd.name,
                                area_code=cur["area_code"], urban_rural_code=cmd.urban_rural_code)
        if not area["verified"]:
            event = AreaVerified(area_id=area_id, boundary=cmd.boundary, buildings=cmd.buildings,
                                 name=area["name"], urban_rural_code=area["urban_rural_code"],
                                 corrected=False)
            uow.collect(stream_id("area", area_id), area["version"],
                        [NewEvent(**event_fields(event))], metadata(p, key))
            await uow.flush()
            area = await repo.area(uow.conn, s, area_id, lock=True)
            assert area is not None
            cur = corrections.current(area)
        if not corrections.changed_fields(cur, proposal):
            return uow.respond(200, {"area_id": str(area_id), "corrected": False,
                                     "status": "verified", "version": area["version"]})
        fresh = await corrections.submit_in(uow, s, p, key, area, proposal)
        return uow.respond(202, {"area_id": str(area_id), "corrected": True,
                                 "status": "submitted", "version": fresh["version"],
                                 "correction": corrections.view(fresh)})


async def list_areas(rt: ServiceRuntime, p: Principal, year: int) -> dict[str, Any]:
    if p.role == "subscriber":
        raise Forbidden("订阅系统不能读取调查小区", code="role_forbidden")
    async with rt.pool.acquire() as conn:
        rows = await repo.areas_under(conn, rt.settings.schema, jurisdiction(p), year)
    return {"items": [{**{k: v for k, v in r.items() if k not in ("roster", "correction")},
                       "area_id": str(r["area_id"]), "enumerators": list(r["enumerators"]),
                       "roster_households": len(r.get("roster") or []),
                       "current": corrections.current(r), "correction": corrections.view(r)}
                      for r in rows]}
