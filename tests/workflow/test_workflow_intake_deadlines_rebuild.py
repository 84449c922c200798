"""Intake from a real agri.events record, deadlines, chain versions, progress, rebuild."""
from __future__ import annotations

import asyncio
import sys
import time
import uuid
from datetime import UTC, datetime

from workflow_support import VILLAGE

from gx_contracts.divisions import Level
from gx_contracts.events.agri import ReportSubmitted
from gx_contracts.events.base import Submission, event_fields
from gx_contracts.ids import case_id_for
from gx_kernel.eventstore import StoredEvent
from gx_kernel.kafka import encode, make_producer

from gx_workflow.adapters.schema import publish_chain
from gx_workflow.application.rebuild import rebuild_projections
from gx_workflow.domain.chains import ChainConfig


async def _eventually(fn, timeout=15.0):
    end = time.monotonic() + timeout
    while True:
        result = await fn()
        if result or time.monotonic() > end:
            return result
        await asyncio.sleep(0.1)


async def test_agri_submitted_record_opens_case_in_township_queue(wf):
    report_id, task_id = uuid.uuid4(), uuid.uuid4()
    sub = Submission(subject_kind="agri.report", subject_id=str(report_id), division_code=VILLAGE,
                     task_id=task_id, revision=1, title="2026年一季度农业生产情况 - 天堂村委会")
    payload = ReportSubmitted(report_id=report_id, task_id=task_id, form_code="A301",
                              form_version=1, period="2026-Q1", village_code=VILLAGE,
                              values={"A01": 12.5}, revision=1, submission=sub)
    f = event_fields(payload)
    stored = StoredEvent(uuid.uuid4(), f"report-{report_id}", 2, 1, 1, f["type"],
                         f["schema_version"], f["data"],
                         {"actor": "u-v", "role": "village_coordinator", "division": VILLAGE,
                          "device": "phone-9"}, datetime.now(UTC))
    key, value, headers = encode(stored, "/gxstat/agri")
    producer = make_producer(wf.settings.kafka_bootstrap_servers, False)
    await producer.start()
    try:
        for _ in range(2):  # redelivery: the second copy has no effect
            await producer.send_and_wait(wf.settings.topic("agri.events"), value=value, key=key,
                                         headers=headers)
    finally:
        await producer.stop()
    case_id = str(case_id_for("agri.report", str(report_id)))

    async def in_queue():
        r = await wf.get("/queue", "township", task_id=str(task_id))
        return [i for i in r.json()["items"] if i["case_id"] == case_id]
    items = await _eventually(in_queue)
    assert items and items[0]["level"] == "township"
    steps = (await wf.get(f"/cases/{case_id}/history", "township")).json()["steps"]
    assert len(steps) == 1 and steps[0]["device"] == "phone-9"


async def test_overdue_marked_once_and_shown_late(wf):
    async with wf.rt.pool.acquire() as conn:
        await publish_chain(conn, wf.settings.schema, ChainConfig(
            "test.fast", 1, (Level.township, Level.region), Level.region, (),
            {Level.township: 0, Level.region: 3600}))
    cid = (await wf.submit(kind="test.fast"))["case_id"]

    async def overdue_events():
        events = await wf.rt.store.read_stream(f"case-{cid}")
        return [e for e in events if e.type == "workflow.case.overdue"]
    assert len(await _eventually(overdue_events)) == 1
    await asyncio.sleep(0.6)  # several more scans: still once
    assert len(await overdue_events()) == 1
    item = [i for i in (await wf.get("/queue", "township", kind="test.fast")).json()["items"]
            if i["case_id"] == cid][0]
    assert item["late"] is True and item["version"] == 2
    v = (await wf.post(cid, "approve", "township", {"expected_version": 2})).json()
    assert v["late"] is False and v["level"] == "region"


async def test_chain_change_affects_new_cases_only(wf):
    old = (await wf.submit(kind="population.household"))["case_id"]
    async with wf.rt.pool.acquire() as conn:
        new_chain = await publish_chain(conn, wf.settings.schema, ChainConfig(
            "population.household", 1, (Level.township, Level.county, Level.city, Level.region),
            Level.region))
    assert new_chain.version == 2
    new = (await wf.submit(kind="population.household"))["case_id"]
    assert (await wf.get(f"/cases/{old}", "region")).json()["chain"] == [
        "township", "county", "region"]
    v = (await wf.get(f"/cases/{new}", "region")).json()
    assert v["chain"] == ["township", "county", "city", "region"] and v["chain_version"] == 2


async def test_progress_counts_per_child_division(wf):
    task = uuid.uuid4()
    a = await wf.submit(task_id=task)
    await wf.submit(task_id=task, division="450103103202")
    await wf.submit(task_id=task, division="450103100201")
    await wf.post(a["case_id"], "approve", "township", {"expected_version": 1})
    r = await wf.get("/progress", "county", task_id=str(task))
    assert r.status_code == 200, r.text
    body = r.json()
    kids = {c["code"]: c for c in body["children"]}
    ct = kids["450103103000"]
    assert ct["submitted"] == 2 and ct["at_level"]["township"] == 1
    assert ct["at_level"]["county"] == 1 and ct["expected"] >= 2
    assert ct["not_started"] == ct["expected"] - 2
    assert kids["450103100000"]["submitted"] == 1
    assert body["total"]["submitted"] == 3
    region = (await wf.get("/progress", "region", task_id=str(task))).json()
    assert region["total"]["expected"] == 16681 and len(region["children"]) == 14
    assert (await wf.get("/progress", "township", task_id=str(task),
                         division="450103000000")).status_code == 403


async def test_rebuild_gives_identical_projections(wf):
    cid = (await wf.submit())["case_id"]
    await wf.post(cid, "return", "township", {"expected_version": 1, "reason_code": "R01",
                                              "reason": "错误"})
    s = wf.settings.schema

    async def snapshot():
        async with wf.rt.pool.acquire() as conn:
            cases = await conn.fetch(f"SELECT * FROM {s}.cases ORDER BY case_id")
            steps = await conn.fetch(f"SELECT * FROM {s}.case_steps ORDER BY case_id, version")
        # changed_tx is the id of the transaction that last wrote the row (a change marker for
        # live streams), not projected state: a rebuild rewrites every row.
        return ([{k: v for k, v in r.items() if k != "changed_tx"} for r in cases],
                [dict(r) for r in steps])
    before = await snapshot()
    n = await rebuild_projections(wf.rt.pool, s)
    after = await snapshot()
    assert n == len(before[0]) > 0
    assert after == before


async def test_rebuild_from_the_command_line(wf):
    await wf.submit()
    s = wf.settings.schema
    async with wf.rt.pool.acquire() as conn:
        cases = await conn.fetchval(f"SELECT count(*) FROM {s}.cases")
        events = await conn.fetchval(
            f"SELECT count(*) FROM {s}.events WHERE type LIKE 'workflow.case.%'")
        await conn.execute(f"DELETE FROM {s}.cases")  # a lost read model
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gx_workflow.application.rebuild", "--database-url",
        wf.settings.database_url, "--schema", s, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT)
    out = (await proc.communicate())[0].decode()
    assert proc.returncode == 0, out
    assert f"{events} events replayed into {cases} cases" in out
    async with wf.rt.pool.acquire() as conn:
        assert await conn.fetchval(f"SELECT count(*) FROM {s}.cases") == cases > 0
