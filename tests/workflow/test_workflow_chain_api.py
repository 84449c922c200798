"""The review chain over HTTP: full chains, returns, guards, concurrency, idempotency."""
from __future__ import annotations

import asyncio
import uuid

from workflow_support import OTHER_VILLAGE

BODY = {"comment": "数据无误"}


def _v(resp):
    assert resp.status_code == 200, resp.text
    return resp.json()


async def test_full_chain_without_city_with_return_and_resubmit(wf):
    c = await wf.submit()
    cid = c["case_id"]
    queue = _v(await wf.get("/queue", "township"))
    assert cid in [i["case_id"] for i in queue["items"]]
    v = _v(await wf.post(cid, "approve", "township", {"expected_version": 1, **BODY}))
    assert (v["level"], v["version"]) == ("county", 2)
    v = _v(await wf.post(cid, "return", "county", {
        "expected_version": 2, "reason_code": "R03", "reason": "播种面积与产量不符",
        "field_notes": {"A01": "请核实"}}))
    assert (v["status"], v["level"], v["field_notes"]) == ("returned", "village", {"A01": "请核实"})
    assert cid in [i["case_id"] for i in _v(await wf.get("/queue", "village"))["items"]]
    c2 = await wf.submit(subject_id=c["subject_id"], revision=2)
    assert c2["version"] == 4
    again = await wf.submit(subject_id=c["subject_id"], revision=2)  # duplicate: no-op
    assert again["version"] == 4
    v = _v(await wf.get(f"/cases/{cid}", "township"))
    assert (v["status"], v["level"], v["revision"]) == ("in_review", "township", 2)
    for who, action in (("township", "approve"), ("county", "approve"), ("region", "accept")):
        v = _v(await wf.post(cid, action, who, {"expected_version": v["version"], **BODY}))
    assert (v["status"], v["level"]) == ("accepted", "region")
    steps = _v(await wf.get(f"/cases/{cid}/history", "village"))["steps"]
    assert [s["action"] for s in steps] == ["open", "approve", "return", "resubmit", "approve",
                                            "approve", "accept"]
    ret = steps[2]
    assert (ret["actor"], ret["role"], ret["division"], ret["device"]) == (
        "user-county", "county_statistician", "450103000000", "dev-county")
    assert (ret["reason_code"], ret["reason"], ret["from_level"], ret["to_level"]) == (
        "R03", "播种面积与产量不符", "county", "village")
    by_subject = _v(await wf.get(f"/cases/by-subject/agri.report/{c['subject_id']}", "region"))
    assert by_subject["case_id"] == cid
    # reopen by the top level, then accept again
    v = _v(await wf.post(cid, "reopen", "region", {"expected_version": v["version"],
                                                    "reason": "抽查发现问题"}))
    assert (v["status"], v["level"]) == ("in_review", "region")


async def test_full_chain_with_city_and_return_to_a_lower_level(wf):
    c = await wf.submit(kind="reform.progress_report", division="450103000000")
    cid = c["case_id"]
    v = _v(await wf.post(cid, "approve", "county", {"expected_version": 1}))
    assert v["level"] == "city" and v["chain"] == ["county", "city", "region"]
    v = _v(await wf.post(cid, "approve", "city", {"expected_version": 2}))
    v = _v(await wf.post(cid, "return", "region", {
        "expected_version": 3, "reason_code": "R02", "reason": "缺少试点县进度", "to_level": "city"}))
    assert (v["status"], v["level"], v["sent_back"]) == ("in_review", "city", True)
    assert cid in [i["case_id"] for i in _v(await wf.get("/queue", "city"))["items"]]
    bad = await wf.post(cid, "return", "city", {"expected_version": 4, "reason_code": "R02",
                                                 "reason": "x", "to_level": "region"})
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_return_target"
    v = _v(await wf.post(cid, "approve", "city", {"expected_version": 4}))
    v = _v(await wf.post(cid, "accept", "region", {"expected_version": 5}))
    assert v["status"] == "accepted"


async def test_guards_invalid_transition_and_wrong_level(wf):
    # population: acceptance only at the region (agri's township may accept early, 附件3)
    cid = (await wf.submit(kind="population.household"))["case_id"]
    r = await wf.post(cid, "accept", "township", {"expected_version": 1})
    assert r.status_code == 409 and r.json()["code"] == "invalid_transition"
    r = await wf.post(cid, "approve", "county", {"expected_version": 1})
    assert r.status_code == 409 and r.json()["code"] == "not_at_your_level"
    r = await wf.post(cid, "approve", "village", {"expected_version": 1})
    assert r.status_code == 403
    r = await wf.post(cid, "approve", "township", {"expected_version": 0})
    assert r.status_code == 409 and r.json()["code"] == "version_conflict"
    r = await wf.post(cid, "return", "township", {"expected_version": 1, "reason_code": "X1",
                                                   "reason": "x"})
    assert r.status_code == 422
    r = await wf.post(cid, "approve", "township", {"expected_version": 1, "bogus": 1})
    assert r.status_code == 422
    r = await wf.post(str(uuid.uuid4()), "approve", "township", {"expected_version": 1})
    assert r.status_code == 404
    assert _v(await wf.get(f"/cases/{cid}", "township"))["version"] == 1  # nothing written


async def test_jurisdiction_other_township_cannot_see_or_act(wf):
    mine = (await wf.submit())["case_id"]
    theirs = (await wf.submit(division=OTHER_VILLAGE))["case_id"]
    queue = [i["case_id"] for i in _v(await wf.get("/queue", "township"))["items"]]
    assert mine in queue and theirs not in queue
    assert (await wf.get(f"/cases/{theirs}", "township")).status_code == 404
    assert (await wf.get(f"/cases/{theirs}/history", "township")).status_code == 404
    r = await wf.post(theirs, "approve", "township", {"expected_version": 1})
    assert r.status_code == 404
    assert (await wf.get(f"/cases/{theirs}", "other_township")).status_code == 200
    r = await wf.post(theirs, "approve", "other_county", {"expected_version": 1})
    assert r.status_code == 404


async def test_two_parallel_approvals_one_wins(wf):
    cid = (await wf.submit())["case_id"]
    rs = await asyncio.gather(*[
        wf.client.post(f"/api/v1/workflow/cases/{cid}/approve", json={"expected_version": 1},
                       headers=wf.headers("township", user=f"clerk-{i}")) for i in range(2)])
    assert sorted(r.status_code for r in rs) == [200, 409]
    assert _v(await wf.get(f"/cases/{cid}", "township"))["version"] == 2


async def test_idempotent_retry_appends_one_event(wf):
    cid = (await wf.submit())["case_id"]
    key = str(uuid.uuid4())
    first = await wf.post(cid, "approve", "township", {"expected_version": 1}, key=key)
    again = await wf.post(cid, "approve", "township", {"expected_version": 1}, key=key)
    assert first.status_code == again.status_code == 200 and first.json() == again.json()
    events = await wf.rt.store.read_stream(f"case-{cid}")
    assert [e.type for e in events] == ["workflow.case.opened", "workflow.case.approved"]
    other = await wf.post(cid, "approve", "township", {"expected_version": 1, "comment": "x"},
                          key=key)
    assert other.status_code == 422


async def test_queue_filters_and_order(wf):
    task = uuid.uuid4()
    ids = [(await wf.submit(task_id=task))["case_id"] for _ in range(3)]
    items = _v(await wf.get("/queue", "township", task_id=str(task)))["items"]
    assert [i["case_id"] for i in items] == ids and all(i["late"] is False for i in items)
    assert _v(await wf.get("/queue", "township", task_id=str(task), kind="x.y"))["items"] == []
    assert (await wf.get("/queue", "township", status="nope")).status_code == 422
