"""Subsidies, training, the assessment and a returned progress report, through the gateway on
the real PostgreSQL and broker, with jurisdiction and bad input."""
from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.harness import wait_for
from tests.organisation.support import CHANGTANG, DOC, NANNING, QINGXIU, TIANTANG, People

pytestmark = pytest.mark.e2e
LIUXU = "450103100000"  # 刘圩镇, another township of 青秀区


@pytest.fixture(scope="module")
async def people(stack):
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=30) as client:
        ppl = People(stack, client)
        assert (await ppl.post("qu_tongji", "/reforms/from-document",
                               {"document_no": DOC})).status_code == 201
        assert (await ppl.post("nanning_shi", "/reforms/2019/choices",
                               {"county_code": QINGXIU})).status_code == 201
        yield ppl


async def _appoint(people, name, role, div, mode, start="2019-07-01", end=None) -> str:
    r = await people.post("qingxiu_qu", "/appointments", {
        "person_name": name, "role": role, "division_code": div, "staffing_mode": mode,
        "start_date": start, "end_date": end})
    assert r.status_code == 201, r.text
    return r.json()["appointment_id"]


async def test_subsidies_due_per_person_and_by_division(people):
    coord = await _appoint(people, "黄春兰", "village_coordinator", TIANTANG, "part_time")
    grid = await _appoint(people, "卢小燕", "grid_worker", TIANTANG, "part_time")
    await _appoint(people, "离任者", "village_coordinator", TIANTANG, "part_time",
                   start="2019-01-01", end="2019-06-30")
    r = await people.post("qu_tongji", "/subsidy-rates", {
        "year": 2019, "division_code": "450000000000", "rates": [
            {"role": "village_coordinator", "basis": "monthly", "amount": 300},
            {"role": "grid_worker", "basis": "per_unit", "amount": 5}]})
    assert r.status_code == 200, r.text
    r = await people.post("qingxiu_qu", "/subsidy-rates", {
        "year": 2019, "division_code": QINGXIU, "rates": [
            {"role": "village_coordinator", "basis": "monthly", "amount": 450}]})
    assert r.status_code == 200, r.text  # the county's own rate wins over the region's
    r = await people.put("qingxiu_qu", f"/appointments/{grid}/workload/2019-08", {"units": 12})
    assert r.status_code == 200, r.text
    d = (await people.get("qingxiu_qu", "/subsidies", period="2019-08")).json()
    due = {i["person_name"]: i["amount"] for i in d["items"]}
    assert due == {"黄春兰": 450.0, "卢小燕": 60.0}  # 离任者 ended before August
    assert d["by_division"] == [{"code": CHANGTANG, "name": "长塘镇", "amount": 510.0}]
    assert d["total"] == 510.0 and coord
    csv = await people.get("qingxiu_qu", "/subsidies", period="2019-08", format="csv")
    assert csv.status_code == 200 and "卢小燕" in csv.content.decode("utf-8-sig")
    # bad input and jurisdiction
    r = await people.post("changtang_zhen", "/subsidy-rates", {
        "year": 2019, "division_code": CHANGTANG, "rates": [
            {"role": "grid_worker", "basis": "per_unit", "amount": 1}]})
    assert r.status_code == 422  # a township sets no rates (only region, city, county)
    r = await people.post("qingxiu_qu", "/subsidy-rates", {
        "year": 2019, "division_code": QINGXIU, "rates": [
            {"role": "grid_worker", "basis": "per_unit", "amount": 1},
            {"role": "grid_worker", "basis": "monthly", "amount": 1}]})
    assert r.status_code == 422 and r.json()["code"] == "duplicate_role"
    r = await people.post("qingxiu_qu", "/subsidy-rates", {
        "year": 2019, "division_code": QINGXIU, "rates": [
            {"role": "grid_worker", "basis": "daily", "amount": 1}]})
    assert r.status_code == 422
    r = await people.get("qingxiu_qu", "/subsidies", period="2019-13")
    assert r.status_code == 422
    r = await people.get("qingxiu_qu", "/subsidies", period="2019-08", division=NANNING)
    assert r.status_code == 403


async def test_training_completion_per_division(people):
    a = await _appoint(people, "覃一", "township_statistician", LIUXU, "full_time")
    b = await _appoint(people, "覃二", "township_statistician", LIUXU, "dispatched")
    r = await people.post("qingxiu_qu", "/trainings", {
        "year": 2019, "division_code": QINGXIU, "title": "乡镇统计员、村级统计协管员业务培训",
        "held_on": "2019-06-20", "audience": ["township_statistician", "village_coordinator"],
        "attendance": [{"appointment_id": a, "completed": True},
                       {"appointment_id": b, "completed": False}]})
    assert r.status_code == 201, r.text
    d = (await people.get("qingxiu_qu", "/dashboard", year=2019)).json()
    liuxu = {r["code"]: r for r in d["rows"]}[LIUXU]
    assert liuxu["staff"] == 2 and liuxu["trained"] == 1 and liuxu["training_rate"] == 50.0
    sessions = (await people.get("qingxiu_qu", "/trainings", year=2019)).json()["items"]
    assert sessions[0]["attendees"] == 2 and sessions[0]["completed"] == 1
    assert sessions[0]["due_by"] == "2019-06-30" and sessions[0]["on_time"] is True
    assert sessions[0]["completion_rate"] == 50.0
    r = await people.post("qingxiu_qu", "/trainings", {
        "year": 2019, "division_code": QINGXIU, "title": "x", "held_on": "2019-06-20",
        "audience": ["grid_worker"], "attendance": [{"appointment_id": a}, {"appointment_id": a}]})
    assert r.status_code == 422 and r.json()["code"] == "duplicate_attendee"
    r = await people.post("qingxiu_qu", "/trainings", {
        "year": 2019, "division_code": QINGXIU, "title": "x", "held_on": "2019-06-20",
        "audience": ["grid_worker"],
        "attendance": [{"appointment_id": "00000000-0000-0000-0000-000000000001"}]})
    assert r.status_code == 422 and r.json()["code"] == "unknown_attendee"
    r = await people.post("qingxiu_qu", "/trainings", {
        "year": 2019, "division_code": NANNING, "title": "x", "held_on": "2019-04-20",
        "audience": ["county_office_staff"]})
    assert r.status_code == 403


async def test_assessment_scores_and_model_standard(people):
    crit = (await people.get("qingxiu_qu", "/assessment/criteria")).json()["versions"][-1]
    assert crit["illustrative"] is True and "示例" in crit["title"]
    full = {c["code"]: 95 for c in crit["criteria"]}
    r = await people.post("qingxiu_qu", "/assessments", {
        "year": 2019, "township_code": CHANGTANG, "scores": full})
    assert r.status_code == 200 and r.json()["model_standard"] is True, r.text
    low = {c["code"]: 70 for c in crit["criteria"]}
    r = await people.post("qingxiu_qu", "/assessments", {
        "year": 2019, "township_code": LIUXU, "scores": low})
    assert r.json()["total"] == 70.0 and r.json()["model_standard"] is False
    r = await people.post("qingxiu_qu", "/assessments", {
        "year": 2019, "township_code": CHANGTANG, "scores": {**full, "bogus": 1}})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "scores.bogus"
    r = await people.post("qingxiu_qu", "/assessments", {
        "year": 2019, "township_code": CHANGTANG, "scores": {"organisation": 101}})
    assert r.status_code == 422
    r = await people.post("nanning_shi", "/assessments", {
        "year": 2019, "township_code": CHANGTANG, "scores": full})
    assert r.status_code == 403  # the county scores its townships
    d = (await people.get("nanning_shi", "/assessments", year=2019)).json()
    assert d["model_townships"] == ["长塘镇"] and d["average"] == 82.5
    city = (await people.get("nanning_shi", "/dashboard", year=2019)).json()
    qx = {r["code"]: r for r in city["rows"]}[QINGXIU]
    assert qx["assessed"] == 2 and qx["model"] == 1 and qx["avg_score"] == 82.5


async def test_a_returned_progress_report_is_corrected_and_climbs_again(people):
    path = f"/progress-reports/{QINGXIU}/2019-09-15"
    r = await people.put("qingxiu_qu", path + "/draft", {
        "sections": {"progress": "第二阶段推进情况"}, "expected_version": 0})
    r = await people.post("qingxiu_qu", path + "/submit",
                          {"expected_version": r.json()["version"]})
    assert r.status_code == 200, r.text
    rid = r.json()["report_id"]
    case = await people.case_for("qingxiu_qu", rid)
    assert (await people.act("qingxiu_qu", case, "approve")).status_code == 200
    case = await people.case_for("nanning_shi", rid, case["version"])
    r = await people.act("nanning_shi", case, "return", reason_code="R01",
                         reason="请补充派驻人员到岗情况")
    assert r.status_code == 200, r.text

    async def returned():
        b = (await people.get("qingxiu_qu", path)).json()
        return b if b["status"] == "returned" else None
    body = await wait_for(returned, 30)
    assert body["return_reason"] == "请补充派驻人员到岗情况"
    r = await people.put("qingxiu_qu", path + "/draft", {
        "sections": {"progress": "第二阶段推进情况；派驻人员已全部到岗"},
        "expected_version": body["version"]})
    assert r.status_code == 200, r.text
    r = await people.post("qingxiu_qu", path + "/submit", {"expected_version": r.json()["version"]})
    assert r.status_code == 200 and r.json()["revision"] == 2
    case = await people.case_for("qingxiu_qu", rid, case["version"] + 1)
    assert case["revision"] == 2 and case["level"] == "county"


async def test_read_models_rebuild_from_the_own_stream_alone(people, stack):
    """Every table but the division tree comes back the same from organisation.events."""
    import asyncpg

    from gx_kernel.eventstore import EventStore
    from gx_kernel.projections import rebuild

    from gx_organisation.application.projections import projections

    s = stack.schema("organisation")
    tables = ["offices", "appointments", "reforms", "reform_counties", "plans",
              "progress_reports", "progress_review_log", "subsidy_rates", "workloads",
              "trainings", "training_attendance", "assessments"]
    pool = await asyncpg.create_pool(stack.database_url, min_size=1, max_size=2)
    try:
        async def dump() -> dict:
            async with pool.acquire() as conn:
                return {t: sorted(map(tuple, await conn.fetch(f"SELECT * FROM {s}.{t}")), key=str)
                        for t in tables}
        async def settled() -> bool:
            # the review events that organisation follows (as a follower, polling every
            # 250 ms) may still be arriving from the previous test: wait until its store rests
            n = await pool.fetchval(f"SELECT count(*) FROM {s}.events")
            await asyncio.sleep(1.0)
            return n == await pool.fetchval(f"SELECT count(*) FROM {s}.events")
        await wait_for(settled, 60, 0.1)
        before = await dump()
        assert before["progress_reports"] and before["progress_review_log"]
        store = EventStore(pool, schema=s)
        total = await pool.fetchval(f"SELECT count(*) FROM {s}.events")

        async def all_visible() -> bool:
            # gap-free reading stops below the oldest running transaction of the database
            # (other suites share it): wait until every committed event is readable
            seen, after = 0, None
            while True:
                batch = await (store.read_all(after) if after else store.read_all())
                if not batch:
                    return seen >= total
                seen, after = seen + len(batch), batch[-1].checkpoint
        await wait_for(all_visible, 60, 0.5)
        await rebuild(store, projections(s))
        after = await dump()
    finally:
        await pool.close()
    for t in tables:
        if t == "progress_reports":  # updated_at is the time of projection
            strip = lambda rows: [r[:-1] for r in rows]  # noqa: E731
            assert strip(after[t]) == strip(before[t]), t
        else:
            assert after[t] == before[t], t
