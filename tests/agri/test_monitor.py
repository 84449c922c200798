"""进度监控: counts by state and totals (submitted and approved basis) per child, one answer."""
from agri_support import DINGXI, TIANTANG, TOWNSHIP, case_data

from gx_contracts.ids import report_id_for

COUNTY = "450103000000"
TT = {"crop_area": 3000, "grain_area": 2600, "early_rice_area": 1200, "early_rice_output": 468000}
DX = {"crop_area": 800, "grain_area": 500, "early_rice_area": 400, "early_rice_output": 160000}


async def _submit(agri, rid, who, values):
    url = f"/api/v1/agri/reports/{rid}"
    r = await agri.client.put(f"{url}/draft", headers=agri.h(who),
                              json={"values": values, "expected_version": 0})
    assert r.status_code == 200, r.text
    r = await agri.client.post(f"{url}/submit", headers=agri.h(who),
                               json={"expected_version": r.json()["version"]})
    assert r.status_code == 200, r.text


async def _monitor(agri, task_id, who="county", division=None, etag=None):
    headers = agri.h(who)
    if etag:
        headers["If-None-Match"] = etag
    return await agri.client.get(f"/api/v1/agri/tasks/{task_id}/monitor", headers=headers,
                                 params={"division": division} if division else {})


async def test_monitor_progress_and_totals(agri):
    task_id = (await agri.publish(COUNTY, period="2023-EARLY")).json()["task_id"]
    tt, dx = str(report_id_for(task_id, TIANTANG)), str(report_id_for(task_id, DINGXI))
    await _submit(agri, tt, "tiantang", TT)
    await _submit(agri, dx, "dingxi", DX)
    # a draft elsewhere in the township
    other = str(report_id_for(task_id, "450103103203"))
    assert (await agri.client.put(f"/api/v1/agri/reports/{other}/draft", headers=agri.h(
        _coordinator("450103103203")), json={"values": {"grain_area": 1},
                                             "expected_version": 0})).status_code == 200
    rep = (await agri.client.get(f"/api/v1/agri/reports/{tt}", headers=agri.h("township"))).json()
    await agri.workflow_event("workflow.case.approved",
                              case_data(rep, from_level="township", to_level="county"))
    await agri.wait_report(tt, lambda b: b["approved_level"] == "township")

    r = await _monitor(agri, task_id)  # the county's view: one row per township
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["division"] == COUNTY and body["child_level"] == "township"
    assert body["progress"]["expected"] == 119
    assert body["progress"]["submitted"] == 2 and body["progress"]["draft"] == 1
    assert body["progress"]["not_started"] == 116
    assert sum(c["progress"]["expected"] for c in body["children"]) == 119
    town = next(c for c in body["children"] if c["division"] == TOWNSHIP)
    assert town["name"] == "长塘镇"
    assert town["progress"]["submitted"] == 2 and town["progress"]["draft"] == 1
    assert town["progress"]["waiting"] == {"township": 1, "county": 1, "city": 0, "region": 0}
    assert town["progress"]["approved"]["township"] == 1
    assert town["progress"]["approved"]["county"] == 0
    assert town["totals"]["submitted"]["early_rice_output"] == 628000
    assert town["totals"]["approved"] == {}  # at the county's view, the county must have approved
    assert body["totals"]["submitted"]["grain_area"] == 3100.0
    assert body["min_approved_level"] == "county"

    # the township's view: one row per village, approved basis = approved by the township
    town_view = (await _monitor(agri, task_id, "township")).json()
    assert town_view["division"] == TOWNSHIP and town_view["child_level"] == "village"
    rows = {c["division"]: c for c in town_view["children"]}
    assert rows[TIANTANG]["name"] == "天堂村委会"
    assert rows[TIANTANG]["totals"]["approved"]["early_rice_output"] == 468000
    assert rows[DINGXI]["totals"]["approved"] == {}
    assert rows[DINGXI]["totals"]["submitted"]["early_rice_output"] == 160000
    assert town_view["totals"]["approved"]["early_rice_output"] == 468000
    # agrees with /totals
    tot = (await agri.client.get(f"/api/v1/agri/tasks/{task_id}/totals", headers=agri.h("township"),
                                 params={"basis": "approved"})).json()
    assert tot["totals"] == town_view["totals"]["approved"]

    # live polling: unchanged -> 304; after a change the tag moves
    etag = r.headers["etag"]
    assert (await _monitor(agri, task_id, etag=etag)).status_code == 304
    await agri.workflow_event("workflow.case.returned", case_data(
        {**rep}, from_level="county", to_level="village", reason_code="R01", reason="请核实"))
    await agri.wait_report(tt, lambda b: b["status"] == "returned")
    again = await _monitor(agri, task_id, etag=etag)
    assert again.status_code == 200 and again.headers["etag"] != etag
    assert again.json()["progress"]["returned"] == 1
    assert again.json()["totals"]["submitted"]["early_rice_output"] == 160000

    # access
    assert (await _monitor(agri, task_id, "tiantang")).status_code == 403
    assert (await _monitor(agri, task_id, "other_county")).status_code == 404
    assert (await _monitor(agri, task_id, division="12")).status_code == 422


def _coordinator(code):
    from gx_kernel.identity import Principal
    return Principal("u-dj", "dongjiang_cun", "village_coordinator", code, "phone-dj")
