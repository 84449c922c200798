"""Progress follows the task's scope (from `*.task.published`) and one definition per count:
应报 = 未报 + 退回 + 审核中 + 已验收 + 已确认, 已报 = 审核中 + 已验收 + 已确认."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from workflow_support import OTHER_VILLAGE, VILLAGE

from gx_kernel.kafka import InboundEvent

from gx_workflow.application.intake import Inbound, handle

COUNTY = "450103000000"     # 青秀区
CITY = "450100000000"       # 南宁市
REGION = "450000000000"
TOWNSHIP = "450103103000"   # 长塘镇
PARTS = ("not_started", "returned", "in_review", "accepted_early", "confirmed")


async def publish_task(wf, task: uuid.UUID, scope: str) -> None:
    """agri.task.published as the intake consumer receives it, without the broker."""
    now = datetime.now(UTC)
    data = {"task_id": str(task), "form_code": "A301", "form_version": 1, "period": "2026-EARLY",
            "title": "2026年早稻", "scope_division": scope,
            "deadline": (now + timedelta(days=7)).isoformat(), "published_by": "u-region"}
    event = InboundEvent(uuid.uuid4(), "agri.task.published", f"agri.task-{task}", 1, 1, data,
                         {}, now, "agri.events", 0, 0, {})
    async with wf.rt.pool.acquire() as conn:
        async with conn.transaction():
            await handle(Inbound(wf.rt.store, conn, wf.settings.chain_profile), event)


async def progress(wf, who: str, task: uuid.UUID, division: str | None = None) -> dict:
    params = {"task_id": str(task)} | ({"division": division} if division else {})
    resp = await wf.get("/progress", who, **params)
    assert resp.status_code == 200, resp.text
    return resp.json()


def assert_adds_up(item: dict) -> None:
    assert sum(item[k] for k in PARTS) == item["expected"], item
    assert item["submitted"] == item["in_review"] + item["accepted_early"] + item["confirmed"]


async def test_a_county_task_lists_only_that_county_with_its_villages(wf):
    task = uuid.uuid4()
    await publish_task(wf, task, COUNTY)
    await wf.submit(task_id=task)
    region = await progress(wf, "region", task)
    county_villages = (await progress(wf, "county", task))["total"]["expected"]
    assert county_villages == 119  # 青秀区 in the reference tree
    assert region["scope"] == COUNTY
    assert [c["code"] for c in region["children"]] == [CITY]  # 13 other cities not listed
    assert region["total"]["expected"] == 119
    assert region["total"]["submitted"] == 1 and region["total"]["not_started"] == 118
    city = await progress(wf, "region", task, CITY)
    assert [c["code"] for c in city["children"]] == [COUNTY]
    assert city["children"][0]["expected"] == 119
    for body in (region, city):
        assert_adds_up(body["total"])
        for child in body["children"]:
            assert_adds_up(child)
    assert "已报" in region["basis"] and "不含退回" in region["basis"]
    # a county outside the scope: nothing expected there
    other = await progress(wf, "region", task, "450102000000")
    assert other["children"] == [] and other["total"]["expected"] == 0


async def test_returned_is_not_submitted_and_the_village_sees_its_own_status(wf):
    task = uuid.uuid4()
    await publish_task(wf, task, TOWNSHIP)
    case = await wf.submit(task_id=task)
    await wf.submit(task_id=task, division=OTHER_VILLAGE)  # outside the scope: not counted
    resp = await wf.post(case["case_id"], "return", "township",
                         {"expected_version": case["version"], "reason_code": "R01",
                          "reason": "数据有误"})
    assert resp.status_code == 200, resp.text
    township = (await progress(wf, "township", task))["total"]
    assert (township["returned"], township["submitted"]) == (1, 0)
    assert_adds_up(township)
    county = await progress(wf, "county", task)
    assert [c["code"] for c in county["children"]] == [TOWNSHIP]
    assert county["total"]["expected"] == township["expected"]
    mine = (await progress(wf, "village", task))["total"]
    assert mine["code"] == VILLAGE
    assert (mine["expected"], mine["returned"], mine["not_started"]) == (1, 1, 0)


async def test_a_task_without_a_known_scope_counts_the_whole_tree(wf):
    task = uuid.uuid4()
    await wf.submit(task_id=task)
    body = await progress(wf, "region", task)
    assert body["scope"] is None and len(body["children"]) == 14
    assert_adds_up(body["total"])
    mine = (await progress(wf, "village", task))["total"]
    assert (mine["expected"], mine["submitted"], mine["in_review"]) == (1, 1, 1)
