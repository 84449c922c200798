"""The field survey through the whole chain (gateway, registry, workflow, broker): hard and
soft rules, the location fix (missing / coarse needs an explanation), return and resubmit,
the county's acceptance writing the survey into the register."""
from __future__ import annotations

import asyncio

import httpx
import pytest

from .registry_support import ADDR, TIANTANG, gb18030_csv, upload, uscc, wait_done

pytestmark = pytest.mark.e2e
GOOD = {"name": "南宁天堂宏达科技有限公司", "legal_rep": "黄伟", "address": ADDR.format(1),
        "division_code": TIANTANG, "industry_code": "6510", "institution_type": "10",
        "status": "1", "employees": 12, "uscc": uscc(1)}
FIX = {"latitude": 22.75, "longitude": 108.45, "accuracy_m": 15, "taken_at": "2026-06-01T10:00:00+08:00"}


@pytest.fixture(scope="module")
async def gw(stack):
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=60) as client:
        heads = {u: await stack.login(client, u) for u in (
            "qu_tongji", "qingxiu_qu", "changtang_zhen", "tiantang_cun", "dingxi_cun")}
        yield client, heads


async def _village_tasks(client, h) -> list[dict]:
    rows = [[uscc(1), "南宁天堂宏达科技有限公司", ADDR.format(1), "黄伟", "存续"],
            [uscc(2), "南宁天堂恒通贸易有限公司", ADDR.format(2), "李芳", "存续"]]
    batch, _ = await upload(client, h["qu_tongji"], gb18030_csv(rows), "市场监管.csv")
    assert (await wait_done(client, h["qu_tongji"], batch))["status"] == "done"
    for who, level in (("qu_tongji", "county"), ("qingxiu_qu", "township"),
                       ("changtang_zhen", "village")):
        r = await client.post("/api/v1/registry/tasks/push-down", headers=h[who],
                              json={"to_level": level})
        assert r.status_code == 200, r.text
    items = (await client.get("/api/v1/registry/tasks", headers=h["tiantang_cun"])).json()["items"]
    return sorted(items, key=lambda t: t["uscc"])


async def _case(client, h, form_id):
    async def opened():
        r = await client.get(f"/api/v1/workflow/cases/by-subject/registry.unit_form/{form_id}",
                             headers=h["changtang_zhen"])
        return r.json() if r.status_code == 200 else None
    for _ in range(300):
        if case := await opened():
            return case
        await asyncio.sleep(0.1)
    raise AssertionError("no case opened")


async def _form_status(client, h, form_id, want):
    for _ in range(300):
        f = (await client.get(f"/api/v1/registry/forms/{form_id}", headers=h["tiantang_cun"])).json()
        if f["status"] == want:
            return f
        await asyncio.sleep(0.1)
    raise AssertionError(f"form never {want}: {f}")


async def test_survey_with_a_coarse_fix_returned_resubmitted_and_accepted(gw):
    client, h = gw
    vil = h["tiantang_cun"]
    tasks = await _village_tasks(client, h)
    d = (await client.get("/api/v1/registry/forms/definition", headers=vil)).json()
    assert d["max_location_accuracy_m"] == 100 and d["title"] == "基本单位情况表"
    r = await client.post("/api/v1/registry/forms", headers=vil,
                          json={"village_code": TIANTANG, "task_id": tasks[0]["task_id"]})
    assert r.status_code == 201, r.text
    form = r.json()
    assert form["values"]["name"] == "南宁天堂宏达科技有限公司" and form["status"] == "not_started"
    url = f"/api/v1/registry/forms/{form['form_id']}"
    # hard rules name the field; another village never sees the form
    r = await client.put(f"{url}/draft", headers=vil, json={
        "values": {**GOOD, "division_code": "450103103202", "employees": -1}, "expected_version": form["version"]})
    assert r.status_code == 422
    assert {e["field"] for e in r.json()["errors"]} == {"values.division_code", "values.employees"}
    assert (await client.get(url, headers=h["dingxi_cun"])).status_code == 404
    # a coarse fix is a warning that needs an explanation
    r = await client.put(f"{url}/draft", headers=vil, json={
        "values": {**GOOD, "legal_rep": "黄小伟", "employees": 3000},
        "location": {**FIX, "accuracy_m": 450}, "expected_version": form["version"]})
    assert r.status_code == 200, r.text
    r = await client.post(f"{url}/submit", headers=vil, json={"expected_version": form["version"] + 1})
    assert r.status_code == 422
    assert {e["rule_id"] for e in r.json()["errors"]} == {"location.coarse", "employees.large"}
    r = await client.put(f"{url}/draft", headers=vil, json={
        "values": {**GOOD, "legal_rep": "黄小伟", "employees": 3000},
        "explanations": {"location": "室内信号弱", "employees": "含季节工"},
        "location": {**FIX, "accuracy_m": 450}, "expected_version": form["version"] + 1})
    assert r.status_code == 200
    r = await client.post(f"{url}/submit", headers={**vil, "Idempotency-Key": "sv-1"},
                          json={"expected_version": form["version"] + 2})
    assert r.status_code == 200, r.text
    assert {w["rule"] for w in r.json()["warnings"]} == {"location.coarse", "employees.large"}
    again = await client.post(f"{url}/submit", headers={**vil, "Idempotency-Key": "sv-1"},
                              json={"expected_version": form["version"] + 2})
    assert again.json() == r.json()
    assert (await client.put(f"{url}/draft", headers=vil, json={
        "values": GOOD, "expected_version": form["version"] + 3})).status_code == 409

    # the township returns it to the coordinator to verify again
    case = await _case(client, h, form["form_id"])
    assert case["level"] == "township"
    r = await client.post(f"/api/v1/workflow/cases/{case['case_id']}/return",
                          headers=h["changtang_zhen"], json={
                              "expected_version": case["version"], "reason_code": "R01",
                              "reason": "从业人员数请重新核实", "field_notes": {"employees": "核实人数"}})
    assert r.status_code == 200, r.text
    f = await _form_status(client, h, form["form_id"], "returned")
    assert f["return_reason"] == "从业人员数请重新核实"
    r = await client.put(f"{url}/draft", headers=vil, json={
        "values": {**GOOD, "legal_rep": "黄小伟", "employees": 30},
        "location": FIX, "expected_version": f["version"]})
    assert r.status_code == 200, r.text
    r = await client.post(f"{url}/submit", headers=vil, json={"expected_version": r.json()["version"]})
    assert r.status_code == 200 and r.json()["revision"] == 2 and r.json()["warnings"] == []

    # township approves, the county accepts (final): the survey is in the register
    for who, action in (("changtang_zhen", "approve"), ("qingxiu_qu", "accept")):
        for _ in range(100):
            case = (await client.get(f"/api/v1/workflow/cases/{case['case_id']}",
                                     headers=h[who])).json()
            if case["revision"] == 2 and case.get("level") == ("township" if action == "approve"
                                                                else "county"):
                break
            await asyncio.sleep(0.1)
        r = await client.post(f"/api/v1/workflow/cases/{case['case_id']}/{action}", headers=h[who],
                              json={"expected_version": case["version"]})
        assert r.status_code == 200, r.text
    await _form_status(client, h, form["form_id"], "confirmed")
    unit = (await client.get(f"/api/v1/registry/units/{tasks[0]['unit_id']}",
                             headers=h["qingxiu_qu"])).json()
    assert unit["legal_rep"] == "黄小伟"
    last = unit["history"][-1]
    assert last["type"] == "registry.unit.changed" and last["source"]["kind"] == "survey"
    assert last["source"]["form_id"] == form["form_id"]
    done = (await client.get("/api/v1/registry/tasks", headers=vil)).json()["items"]
    assert next(t for t in done if t["task_id"] == tasks[0]["task_id"])["status"] == "done"


async def test_a_unit_found_on_the_ground_without_a_fix(gw):
    client, h = gw
    vil = h["tiantang_cun"]
    r = await client.post("/api/v1/registry/forms", headers=vil, json={"village_code": TIANTANG})
    form = r.json()
    url = f"/api/v1/registry/forms/{form['form_id']}"
    new = {**GOOD, "name": "南宁无此总部有限公司天堂分店", "uscc": "", "institution_type": "90",
           "employees": 2}
    r = await client.put(f"{url}/draft", headers=vil, json={"values": new, "expected_version": form["version"]})
    assert r.status_code == 200, r.text
    r = await client.post(f"{url}/submit", headers=vil, json={"expected_version": form["version"] + 1})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "location"
    r = await client.put(f"{url}/draft", headers=vil, json={
        "values": new, "explanations": {"location": "手机无定位权限"}, "expected_version": form["version"] + 1})
    r = await client.post(f"{url}/submit", headers=vil, json={"expected_version": form["version"] + 2})
    assert r.status_code == 200, r.text
    assert [w["rule"] for w in r.json()["warnings"]] == ["location.missing"]

    # accepted: registered from the survey; the register's audit sends it back to verify
    case = await _case(client, h, form["form_id"])
    for who, action, level in (("changtang_zhen", "approve", "township"),
                               ("qingxiu_qu", "accept", "county")):
        for _ in range(100):
            case = (await client.get(f"/api/v1/workflow/cases/{case['case_id']}",
                                     headers=h[who])).json()
            if case.get("level") == level:
                break
            await asyncio.sleep(0.1)
        r = await client.post(f"/api/v1/workflow/cases/{case['case_id']}/{action}", headers=h[who],
                              json={"expected_version": case["version"]})
        assert r.status_code == 200, r.text
    f = await _form_status(client, h, form["form_id"], "confirmed")
    unit = (await client.get(f"/api/v1/registry/units/{f['unit_id']}", headers=vil)).json()
    assert unit["name"] == "南宁无此总部有限公司天堂分店" and unit["unit_kind"] == "activity_unit"
    assert unit["history"][0]["source"]["kind"] == "survey"
    assert unit["history"][-1]["type"] == "registry.unit.flagged"
    mine = (await client.get("/api/v1/registry/tasks?kind=field_verification",
                             headers=vil)).json()["items"]
    back = next(t for t in mine if t["unit_id"] == f["unit_id"])
    assert back["reasons"][0]["code"] == "activity_unit.no_parent"


async def test_forms_rebuild_from_their_own_events(gw, stack):
    """After returns, resubmission and final acceptance: the form rows (lifecycle columns,
    return reason, the found unit's link) and the tasks' done flags rebuild to the same rows."""
    import asyncpg

    from gx_kernel.eventstore import EventStore
    from gx_kernel.projections import rebuild

    from gx_registry.application.projections import projections

    s = stack.schema("registry")
    pool = await asyncpg.create_pool(stack.database_url, min_size=1, max_size=2)

    async def snapshot():
        async with pool.acquire() as conn:
            return ([{k: v for k, v in dict(r).items() if k != "updated_at"} for r in
                     await conn.fetch(f"SELECT * FROM {s}.unit_forms ORDER BY form_id")],
                    [(r["task_id"], r["status"]) for r in
                     await conn.fetch(f"SELECT task_id, status FROM {s}.tasks ORDER BY task_id")])
    try:
        before = await snapshot()
        assert {f["status"] for f in before[0]} == {"confirmed"}
        assert any(f["return_reason"] for f in before[0]) and "done" in {t[1] for t in before[1]}
        await rebuild(EventStore(pool, schema=s), projections(s))
        assert await snapshot() == before
    finally:
        await pool.close()
