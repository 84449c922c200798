"""Reviewer statistics (deterministic timestamps) and lateness in progress and queues."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from workflow_support import OTHER_VILLAGE

from gx_contracts.divisions import Level
from gx_kernel.uow import UnitOfWork

from gx_workflow.adapters.schema import publish_chain
from gx_workflow.application.cases import load_case, record
from gx_workflow.application.projection import projections_for
from gx_workflow.domain import commands as dc
from gx_workflow.domain.chains import ChainConfig
from tests.harness import wait_for

T0 = datetime(2026, 4, 1, 8, 0, tzinfo=UTC)


def _ok(resp) -> dict:
    assert resp.status_code == 200, resp.text
    return resp.json()


async def _act(wf, case: dict, action: str, who: str, user: str | None = None, **body) -> dict:
    r = await wf.client.post(f"/api/v1/workflow/cases/{case['case_id']}/{action}",
                             json={"expected_version": case["version"], **body},
                             headers=wf.headers(who, user=user))
    case.update(version=_ok(r)["version"])
    return case


async def _set_times(wf, case: dict, offsets: list[int]) -> None:
    """Pin the history's timestamps: version i+1 happened at T0 + offsets[i] seconds."""
    async with wf.rt.pool.acquire() as conn:
        await conn.executemany(
            f"UPDATE {wf.settings.schema}.case_steps SET at = $3 WHERE case_id = $1 "
            f"AND version = $2",
            [(uuid.UUID(case["case_id"]), v, T0 + timedelta(seconds=s))
             for v, s in enumerate(offsets, start=1)])


async def _mark_overdue(wf, case: dict) -> None:
    store = wf.rt.store
    async with UnitOfWork(store, projections=projections_for(store.schema)) as uow:
        c = await load_case(store, uow.conn, uuid.UUID(case["case_id"]))
        event = dc.mark_overdue(c, c.deadline + timedelta(seconds=1))
        await record(uow, c, [event], {"actor": "system"}, c.stream_id)
    case["version"] += 1


@pytest.fixture(scope="module")
async def stats_task(wf):
    """Three cases of one task with a known history (see the expected numbers below)."""
    task = uuid.uuid4()
    a = await wf.submit(task_id=task)
    await _act(wf, a, "approve", "township", "clerk-1")
    await _act(wf, a, "approve", "county")
    await _act(wf, a, "accept", "region")
    await _set_times(wf, a, [0, 100, 700, 1700])

    b = await wf.submit(task_id=task)
    await _act(wf, b, "return", "township", "clerk-1", reason_code="R01", reason="填报错误")
    b.update(version=(await wf.submit(task_id=task, subject_id=b["subject_id"],
                                      revision=2))["version"])
    await _act(wf, b, "approve", "township", "clerk-2")
    await _act(wf, b, "return", "county", reason_code="R03", reason="逻辑不符",
               to_level="township")
    await _act(wf, b, "approve", "township", "clerk-2")
    await _set_times(wf, b, [0, 200, 1000, 1300, 1500, 1560])

    c = await wf.submit(task_id=task)
    await _mark_overdue(wf, c)  # an overdue mark is not a step of the path: skipped
    await _act(wf, c, "return", "township", "clerk-2", reason_code="R01", reason="填报错误")
    await _set_times(wf, c, [0, 300, 400])
    return task


async def test_stats_per_level(wf, stats_task):
    body = _ok(await wf.get("/stats", "county", task_id=str(stats_task)))
    levels = {lv["level"]: lv for lv in body["levels"]}
    assert [lv["level"] for lv in body["levels"]] == ["township", "county", "region"]
    # township waits: 100 (A), 200 (B return), 300 (B), 60 (B after county return), 400 (C)
    assert levels["township"] == {
        "level": "township", "label_zh": "乡镇", "cases": 3, "actions": 5, "approvals": 3,
        "accepts": 0, "early_accepts": 0, "confirms": 0, "returns": 2, "return_rate": 0.4,
        "wait_seconds_median": 200.0,
        "wait_seconds_p90": 360.0}
    assert levels["county"] | {} == {
        "level": "county", "label_zh": levels["county"]["label_zh"], "cases": 2, "actions": 2,
        "approvals": 1, "accepts": 0, "early_accepts": 0, "confirms": 0, "returns": 1,
        "return_rate": 0.5,
        "wait_seconds_median": 400.0, "wait_seconds_p90": 560.0}
    assert (levels["region"]["approvals"], levels["region"]["accepts"],
            levels["region"]["returns"], levels["region"]["wait_seconds_median"]) == (
        1, 1, 0, 1000.0)


async def test_stats_per_reviewer_and_reasons(wf, stats_task):
    body = _ok(await wf.get("/stats", "region", task_id=str(stats_task)))
    who = [(r["user_id"], r["role"], r["division"], r["approvals"], r["returns"])
           for r in body["reviewers"]]
    assert who == [
        ("clerk-2", "township_statistician", "450103103000", 2, 1),
        ("clerk-1", "township_statistician", "450103103000", 1, 1),
        ("user-county", "county_statistician", "450103000000", 1, 1),
        ("user-region", "region_statistician", "450000000000", 1, 0)]
    clerk2 = body["reviewers"][0]
    assert (clerk2["username"], clerk2["return_rate"], clerk2["wait_seconds_median"]) == (
        "township_name", round(1 / 3, 4), 300.0)
    assert body["return_reasons"] == [
        {"code": "R01", "label": "数据填报错误", "count": 2, "share": 0.6667},
        {"code": "R03", "label": "逻辑关系不符", "count": 1, "share": 0.3333}]


async def test_stats_scope_filters_and_roles(wf, stats_task):
    task = str(stats_task)
    mine = _ok(await wf.get("/stats", "township", task_id=task))
    assert mine["division"] == "450103103000" and sum(
        lv["actions"] for lv in mine["levels"]) == 8
    other = _ok(await wf.get("/stats", "other_township", task_id=task))
    assert other["levels"] == other["reviewers"] == other["return_reasons"] == []
    assert _ok(await wf.get("/stats", "county", task_id=task, kind="x.y"))["levels"] == []
    by_kind = _ok(await wf.get("/stats", "county", task_id=task, kind="agri.report"))
    assert len(by_kind["levels"]) == 3
    r = await wf.get("/stats", "township", task_id=task, division="450103000000")
    assert r.status_code == 403
    assert (await wf.get("/stats", "village", task_id=task)).status_code == 403
    r = await wf.get("/stats", "county", division="45010")
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "division"


async def test_late_counts_per_child_division_and_in_queues(wf):
    async with wf.rt.pool.acquire() as conn:
        await publish_chain(conn, wf.settings.schema, ChainConfig(
            "test.late", 1, (Level.township, Level.county), Level.county, (),
            {Level.township: 0, Level.county: 3600}))
    task = uuid.uuid4()
    late_here = await wf.submit(kind="test.late", task_id=task)
    late_there = await wf.submit(kind="test.late", task_id=task, division=OTHER_VILLAGE)
    moved_on = await wf.submit(kind="test.late", task_id=task)
    on_time = await wf.submit(kind="test.late", task_id=task)
    await _act(wf, moved_on, "approve", "township")  # now at the county, 1 h to go
    # the overdue scan (every 0.2 s here) records the township's lateness once

    async def marked():  # both of this township's: none is left for the scan to mark later
        items = _ok(await wf.get("/queue", "township", task_id=str(task)))["items"]
        done = {i["case_id"] for i in items if i["overdue_recorded"]}
        return {late_here["case_id"], on_time["case_id"]} <= done
    await wait_for(marked)
    # on_time's deadline (0 s) passed too; make it "not yet due" to have a case on time
    async with wf.rt.pool.acquire() as conn:
        await conn.execute(
            f"UPDATE {wf.settings.schema}.cases SET late = false, deadline = now() + "
            f"interval '1 hour', view = jsonb_set(jsonb_set(view, '{{deadline}}', "
            f"to_jsonb((now() + interval '1 hour')::text)), '{{overdue_recorded}}', 'false') "
            f"WHERE case_id = $1", uuid.UUID(on_time["case_id"]))
    body = _ok(await wf.get("/progress", "county", task_id=str(task)))
    kids = {c["code"]: c for c in body["children"]}
    assert (kids["450103103000"]["late"], kids["450103100000"]["late"]) == (1, 1)
    assert sum(c["late"] for c in body["children"]) == body["total"]["late"] == 2
    assert kids["450103103000"]["submitted"] == 3

    queue = {i["case_id"]: i for i in
             _ok(await wf.get("/queue", "township", task_id=str(task)))["items"]}
    assert queue[late_here["case_id"]]["late"] is True
    assert queue[late_here["case_id"]]["deadline"] is not None
    assert queue[on_time["case_id"]]["late"] is False
    assert late_there["case_id"] not in queue  # another township's case
    county = {i["case_id"]: i for i in
              _ok(await wf.get("/queue", "county", task_id=str(task)))["items"]}
    item = county[moved_on["case_id"]]
    deadline = datetime.fromisoformat(item["deadline"])
    assert item["late"] is False
    assert timedelta(minutes=59) < deadline - datetime.now(UTC) <= timedelta(hours=1)
