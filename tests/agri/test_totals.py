"""Aggregation with lineage: totals equal the sum of the level below; returns leave the totals."""
import json
import random
import uuid
from decimal import Decimal

from agri_support import TIANTANG, case_data

from gx_contracts.ids import report_id_for

COUNTY = "450103000000"


def D(x):
    return Decimal(str(x))


async def _fill_randomly(agri, task_id: str, seed: int = 7) -> None:
    """Random submitted/approved values for every village but 天堂 (it goes through HTTP)."""
    rnd = random.Random(seed)
    async with agri.rt.pool.acquire() as conn:
        rows = await conn.fetch(f"SELECT report_id, village_code FROM {agri.settings.schema}.reports"
                                f" WHERE task_id = $1 AND village_code <> $2",
                                uuid.UUID(task_id), TIANTANG)
        upd = []
        for r in rows:
            vals = {"grain_area": round(rnd.uniform(0, 5000), 1),
                    "early_rice_area": round(rnd.uniform(0, 2000), 1),
                    "early_rice_output": rnd.randint(0, 800000),
                    "sugarcane_output": round(rnd.uniform(0, 9000), 2)}
            status = rnd.choice(["not_started", "draft", "submitted", "submitted", "returned",
                                 "accepted"])
            rank = 4 if status == "accepted" else (rnd.randint(0, 3) if status == "submitted" else 0)
            upd.append((r["report_id"], json.dumps(vals), status, rank))
        await conn.executemany(
            f"UPDATE {agri.settings.schema}.reports SET vals = $2::jsonb, status = $3,"
            f" approved_rank = $4, revision = 1 WHERE report_id = $1", upd)


async def _totals(agri, task_id, division, basis="submitted", who="region"):
    r = await agri.client.get(f"/api/v1/agri/tasks/{task_id}/totals",
                              params={"division": division, "basis": basis}, headers=agri.h(who))
    assert r.status_code == 200, r.text
    return r.json()


async def _drill(agri, task_id, division, basis="submitted", indicator=None):
    params = {"division": division, "basis": basis}
    if indicator:
        params["indicator"] = indicator
    r = await agri.client.get(f"/api/v1/agri/tasks/{task_id}/drilldown", params=params,
                              headers=agri.h("region"))
    assert r.status_code == 200, r.text
    return r.json()["items"]


def _sum(dicts, code):
    return sum((D(d.get(code, 0)) for d in dicts), Decimal(0))


async def test_totals_equal_sum_of_level_below(agri):
    r = await agri.publish(COUNTY, period="2026-SPRING")
    task_id = r.json()["task_id"]
    await _fill_randomly(agri, task_id)
    codes = ["grain_area", "early_rice_area", "early_rice_output", "sugarcane_output"]
    region = await _totals(agri, task_id, "450000000000")
    county = await _totals(agri, task_id, COUNTY)
    city = await _totals(agri, task_id, "450100000000")
    assert region["totals"] == city["totals"] == county["totals"]  # only one county in scope
    assert county["report_count"] > 0
    towns = [await _totals(agri, task_id, c["division"]) for c in county["children"]]
    for code in codes:
        assert D(county["totals"][code]) == _sum([t["totals"] for t in towns], code)
        for town in towns:
            villages = await _drill(agri, task_id, town["division"])
            assert D(town["totals"].get(code, 0)) == _sum([v["values"] for v in villages], code)
            assert all(v["status"] in ("submitted", "accepted") for v in villages)
    # approved basis at county: only reports approved at county or above
    appr = await _totals(agri, task_id, COUNTY, basis="approved")
    rows = await _drill(agri, task_id, COUNTY, basis="approved")
    assert appr["min_approved_level"] == "county"
    assert all(v["approved_level"] in ("county", "city", "region") for v in rows)
    assert D(appr["totals"]["grain_area"]) == _sum([v["values"] for v in rows], "grain_area")
    assert appr["report_count"] == len(rows) < county["report_count"]
    # jurisdiction: a township statistician cannot ask for the county; bad inputs are named
    r = await agri.client.get(f"/api/v1/agri/tasks/{task_id}/totals",
                              params={"division": COUNTY}, headers=agri.h("township"))
    assert r.status_code == 403
    r = await agri.client.get(f"/api/v1/agri/tasks/{task_id}/totals",
                              params={"basis": "all"}, headers=agri.h("region"))
    assert r.status_code == 422 and "basis" in r.text
    r = await agri.client.get(f"/api/v1/agri/tasks/{task_id}/drilldown",
                              params={"indicator": "nope"}, headers=agri.h("region"))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "indicator"
    r = await agri.client.get(f"/api/v1/agri/tasks/{task_id}/totals", headers=agri.h("tiantang"))
    assert r.status_code == 403


async def test_return_removes_and_reapproval_restores(agri):
    r = await agri.publish("450103103000", period="2025")  # 长塘镇 only
    task_id = r.json()["task_id"]
    rid = str(report_id_for(task_id, TIANTANG))
    url = f"/api/v1/agri/reports/{rid}"
    values = {"crop_area": 3000, "grain_area": 2500, "early_rice_area": 1000,
              "early_rice_output": 400000}
    await agri.client.put(f"{url}/draft", headers=agri.h("tiantang"),
                          json={"values": values, "expected_version": 0})
    assert (await agri.client.post(f"{url}/submit", headers=agri.h("tiantang"),
                                   json={"expected_version": 1})).status_code == 200
    town = "450103103000"
    assert (await _totals(agri, task_id, town))["totals"]["early_rice_output"] == 400000
    assert (await _totals(agri, task_id, town, "approved"))["totals"] == {}
    rep = (await agri.client.get(url, headers=agri.h("township"))).json()
    await agri.workflow_event("workflow.case.approved", case_data(rep, from_level="township",
                                                                  to_level="county"))
    await agri.wait_report(rid, lambda b: b["approved_level"] == "township")
    assert (await _totals(agri, task_id, town, "approved"))["totals"]["early_rice_output"] == 400000
    assert (await _totals(agri, task_id, COUNTY, "approved"))["totals"] == {}
    lineage = await _drill(agri, task_id, town, "approved", "early_rice_output")
    assert lineage == [{**lineage[0], "village_code": TIANTANG, "report_id": rid, "revision": 1,
                        "value": 400000}]
    await agri.workflow_event("workflow.case.returned", case_data(
        rep, from_level="county", to_level="village", reason_code="R01", reason="早稻产量有误"))
    back = await agri.wait_report(rid, lambda b: b["status"] == "returned")
    for basis in ("submitted", "approved"):
        assert (await _totals(agri, task_id, town, basis))["totals"] == {}
    await agri.client.put(f"{url}/draft", headers=agri.h("tiantang"), json={
        "values": {**values, "early_rice_output": 420000}, "expected_version": back["version"]})
    assert (await agri.client.post(f"{url}/submit", headers=agri.h("tiantang"), json={
        "expected_version": back["version"] + 1})).status_code == 200
    assert (await _totals(agri, task_id, town))["totals"]["early_rice_output"] == 420000
    rep2 = (await agri.client.get(url, headers=agri.h("township"))).json()
    for lvl, nxt in (("township", "county"), ("county", "region")):
        await agri.workflow_event("workflow.case.approved", case_data(rep2, from_level=lvl,
                                                                      to_level=nxt))
    await agri.wait_report(rid, lambda b: b["approved_level"] == "county")
    county = await _totals(agri, task_id, COUNTY, "approved")
    assert county["totals"]["early_rice_output"] == 420000
    [row] = await _drill(agri, task_id, COUNTY, "approved", "early_rice_output")
    assert row["revision"] == 2 and row["value"] == 420000
