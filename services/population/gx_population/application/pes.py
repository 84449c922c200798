"""事后质量抽查 (post-enumeration check): sample (seed recorded), an independent certified
team per area (never the area's own enumerators), the team's re-enumeration (sealed), the
matching with every decision recorded, and the results with the formulas shown.

Matching opens both sides' identifying fields in memory only; what is stored and published
is the decisions (record ids, method, reason) and the counts.
"""
from __future__ import annotations

import uuid
from typing import Any

from gx_contracts.commands.population import AssignPesTeam, DrawPesSample, MatchPes, RecordPesCheck
from gx_contracts.events.base import event_fields
from gx_contracts.events.population import (
    PersonEntry,
    PesCheckRecorded,
    PesDecision,
    PesMatched,
    PesSampleDrawn,
    PesTeamAssigned,
)
from gx_contracts.ids import stream_id
from gx_kernel.errors import AppError, Forbidden, NotFound
from gx_kernel.eventstore import NewEvent
from gx_kernel.identity import Principal
from gx_kernel.service import ServiceRuntime

from gx_population.adapters import repo
from gx_population.adapters import survey_sql as sq
from gx_population.application.access import (
    cipher,
    metadata,
    private_digest,
    require_role,
    unit_of_work,
)
from gx_population.application.areas import area_id_for
from gx_population.domain import pes
from gx_population.privacy.keys import StoredKey

REGION = {"region_statistician"}


def _stream(sample_id: uuid.UUID) -> str:
    return stream_id("pes", sample_id)


async def _sample(conn: Any, s: str, sample_id: uuid.UUID) -> dict[str, Any]:
    found = await sq.sample(conn, s, sample_id)
    if found is None:
        raise NotFound("抽查样本", str(sample_id))
    return found


async def draw(rt: ServiceRuntime, p: Principal, cmd: DrawPesSample,
               key: str | None) -> tuple[int, dict[str, Any]]:
    require_role(p, REGION, "抽取事后质量抽查样本")
    s = rt.settings.schema
    async with unit_of_work(rt, p, key, {"op": "pes", **cmd.model_dump()}) as uow:
        if uow.replayed:
            return uow.replayed
        frame = [a["area_code"] for a in await repo.areas_under(uow.conn, s, "45", cmd.survey_year)]
        try:
            sample = pes.draw_sample(frame, cmd.size, cmd.seed)
        except ValueError:
            raise AppError(422, "bad_sample_size", f"抽取小区数应为1～{len(frame)}（本年度调查小区数）",
                           field="size") from None
        sid = uuid.uuid4()
        event = PesSampleDrawn(sample_id=sid, survey_year=cmd.survey_year, seed=sample.seed,
                               frame_size=sample.frame_size, area_codes=list(sample.areas))
        uow.collect(_stream(sid), 0, [NewEvent(**event_fields(event))], metadata(p, key))
        await uow.flush()
        return uow.respond(201, {"sample_id": str(sid), "seed": sample.seed,
                                 "frame_size": sample.frame_size, "area_codes": list(sample.areas),
                                 "area_ids": [str(area_id_for(cmd.survey_year, c))
                                              for c in sample.areas]})


async def _sampled_area(conn: Any, s: str, sample: dict[str, Any],
                        area_id: uuid.UUID) -> dict[str, Any]:
    area = await repo.area(conn, s, area_id)
    if area is None or area["area_code"] not in sample["area_codes"]:
        raise NotFound("抽查小区", str(area_id))
    return area


async def assign_team(rt: ServiceRuntime, p: Principal, sample_id: uuid.UUID, area_id: uuid.UUID,
                      cmd: AssignPesTeam, key: str | None) -> tuple[int, dict[str, Any]]:
    require_role(p, REGION, "指定事后质量抽查复查员")
    s = rt.settings.schema
    async with unit_of_work(rt, p, key, {"op": "team", "s": str(sample_id), "a": str(area_id),
                                         **cmd.model_dump()}) as uow:
        if uow.replayed:
            return uow.replayed
        sample = await _sample(uow.conn, s, sample_id)
        area = await _sampled_area(uow.conn, s, sample, area_id)
        own = set(area.get("enumerators") or [])
        for i, name in enumerate(cmd.usernames):
            if name in own:
                raise AppError(422, "team_not_independent", "复查员不能是该小区的调查员（须独立于登记）",
                               field=f"usernames.{i}")
            passed = await uow.conn.fetchval(
                f"SELECT bool_or(passed) FROM {s}.certifications WHERE username = $1 AND"
                f" survey_year = $2", name, sample["survey_year"])
            if not passed:
                raise AppError(422, "team_not_certified", f"复查员须取得{sample['survey_year']}年度调查员资格",
                               field=f"usernames.{i}")
        event = PesTeamAssigned(sample_id=sample_id, area_id=area_id, usernames=cmd.usernames)
        uow.collect(_stream(sample_id), None, [NewEvent(**event_fields(event))], metadata(p, key))
        await uow.flush()
        return uow.respond(200, {"sample_id": str(sample_id), "area_id": str(area_id),
                                 "usernames": cmd.usernames})


async def record_check(rt: ServiceRuntime, p: Principal, sample_id: uuid.UUID,
                       area_id: uuid.UUID, cmd: RecordPesCheck,
                       key: str | None) -> tuple[int, dict[str, Any]]:
    s = rt.settings.schema
    digest = {"op": "check", "s": str(sample_id), "a": str(area_id),
              "d": private_digest(rt, cmd.model_dump(mode="json"))}
    async with unit_of_work(rt, p, key, digest) as uow:
        if uow.replayed:
            return uow.replayed
        sample = await _sample(uow.conn, s, sample_id)
        await _sampled_area(uow.conn, s, sample, area_id)
        if p.role != "grid_worker" or p.username not in await sq.team(uow.conn, s, sample_id,
                                                                        area_id):
            raise Forbidden("您不是该抽查小区的复查员", code="not_pes_team")
        sealer = cipher(rt, uow.conn)
        entries = []
        for person in cmd.persons:
            cid = uuid.uuid4()
            fields = await sealer.seal(str(cid), {k: v for k, v in person.model_dump().items() if v})
            entries.append(PersonEntry(person_id=cid, fields=fields))
        event = PesCheckRecorded(sample_id=sample_id, area_id=area_id, persons=entries)
        uow.collect(_stream(sample_id), None, [NewEvent(**event_fields(event))], metadata(p, key))
        await uow.flush()
        return uow.respond(201, {"recorded": len(entries)})


def _opened(rt: ServiceRuntime, conn: Any, rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    live = {str(r["person_id"]): r for r in rows
            if r.get("erased_at") is None and r["wrapped_key"] is not None}
    keys = {pid: StoredKey(pid, r["wrapped_key"], r["key_version"], r["destroyed_at"])
            for pid, r in live.items()}
    return cipher(rt, conn).open_loaded({pid: r["fields"] for pid, r in live.items()}, keys)


def _person(pid: str, area_code: str, f: dict[str, Any]) -> pes.PesPerson:
    return pes.PesPerson(pid, area_code, f.get("id_number"), f.get("name"), f.get("sex"),
                         f.get("birth_year_month"))


async def match(rt: ServiceRuntime, p: Principal, sample_id: uuid.UUID, area_id: uuid.UUID,
                cmd: MatchPes, key: str | None) -> tuple[int, dict[str, Any]]:
    require_role(p, REGION, "比对事后质量抽查")
    s = rt.settings.schema
    async with unit_of_work(rt, p, key, {"op": "match", "s": str(sample_id), "a": str(area_id),
                                         **cmd.model_dump(mode="json")}) as uow:
        if uow.replayed:
            return uow.replayed
        sample = await _sample(uow.conn, s, sample_id)
        area = await _sampled_area(uow.conn, s, sample, area_id)
        code = area["area_code"]
        enum_rows = await sq.area_persons_with_keys(uow.conn, s, area_id)
        opened = _opened(rt, uow.conn, enum_rows)
        # an erased person still counts (C) but can no longer be matched: insufficient data
        enumeration = [_person(str(r["person_id"]), code, opened.get(str(r["person_id"]), {}))
                       for r in enum_rows]
        checks = _opened(rt, uow.conn, await sq.checks_with_keys(uow.conn, s, sample_id, area_id))
        check = [_person(pid, code, f) for pid, f in checks.items()]
        m = pes.match(enumeration, check)
        per_area, _ = pes.coverage(enumeration, check, m, [str(e) for e in cmd.erroneous])
        cov = per_area[0] if per_area else pes.Coverage.of(code, len(enumeration),
                                                           len(m.insufficient), 0, 0, 0)
        event = PesMatched(
            sample_id=sample_id, area_id=area_id, area_code=code,
            decisions=[PesDecision(check_id=uuid.UUID(d.check_id),
                                   enumeration_id=uuid.UUID(d.enumeration_id)
                                   if d.enumeration_id else None,
                                   method=d.method, reason=d.reason[:200])  # type: ignore[arg-type]
                       for d in m.decisions],
            duplicates=sorted(m.duplicates), insufficient=sorted(m.insufficient),  # type: ignore[arg-type]
            erroneous=cmd.erroneous, C=cov.C, II=cov.II, CE=cov.CE, P=cov.P, M=cov.M)
        uow.collect(_stream(sample_id), None, [NewEvent(**event_fields(event))], metadata(p, key))
        await uow.flush()
        return uow.respond(200, {"area_code": code, **cov.as_dict(),
                                 "matched": len(m.matched), "unmatched":
                                 sum(1 for d in m.decisions if d.enumeration_id is None)})


async def results(rt: ServiceRuntime, p: Principal, sample_id: uuid.UUID) -> dict[str, Any]:
    require_role(p, REGION | {"city_statistician", "county_statistician"}, "查看事后质量抽查结果")
    s = rt.settings.schema
    async with rt.pool.acquire() as conn:
        sample = await _sample(conn, s, sample_id)
        rows = await sq.results(conn, s, sample_id)
    return result_of({**sample, "sample_id": str(sample_id)}, rows)


NOT_MATCHED = "尚未比对：暂无复查（事后质量抽查）结果"


def result_of(sample: dict[str, Any], rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The results of `sample` from its matched areas' `rows`: one row per drawn area in the
    draw's order, a drawn area not matched yet with empty figures and a note (it counts in
    no total), so the table never hides an area the sample holds."""
    per_area = {r["area_code"]: pes.Coverage.of(r["area_code"], r["c"], r["ii"], r["ce"],
                                                r["p"], r["m"]) for r in rows}
    total = pes.Coverage.of(None, *(sum(getattr(c, k) for c in per_area.values())
                                    for k in ("C", "II", "CE", "P", "M")))
    empty = {k: None for k in total.as_dict() if k != "area_code"}
    codes = [*sample["area_codes"], *(c for c in per_area if c not in sample["area_codes"])]
    areas = [{**per_area[c].as_dict(), "matched": True, "note": None} if c in per_area
             else {"area_code": c, **empty, "matched": False, "note": NOT_MATCHED}
             for c in codes]
    return {"sample_id": sample["sample_id"], "survey_year": sample["survey_year"],
            "seed": sample["seed"], "frame_size": sample["frame_size"],
            "area_codes": sample["area_codes"], "areas": areas,
            "unmatched": [c for c in codes if c not in per_area],
            "overall": total.as_dict(), "formulas": pes.FORMULAS, "symbols": pes.SYMBOLS,
            "decisions": {r["area_code"]: r["decisions"] for r in rows}}
