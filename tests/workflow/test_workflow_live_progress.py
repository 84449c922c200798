"""Live progress (SSE) on two replicas of the service sharing one schema, over real HTTP."""
from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from dataclasses import dataclass

import httpx
import pytest
from workflow_support import SseReader, Workflow, make_settings

from gx_workflow.application.state import state
from gx_workflow.main import create_app
from tests.harness import serving, wait_for

TOWNSHIP = "450103103000"        # 长塘镇
OTHER_TOWNSHIP_VILLAGE = "450103100201"
COUNTY = "450103000000"          # 青秀区
STREAM = "/api/v1/workflow/progress/stream"


@dataclass
class Replicas:
    a: Workflow
    b: Workflow


@pytest.fixture(scope="module")
async def live(infra):
    # A long poll interval: a push within seconds proves the NOTIFY path, not the poll.
    a_settings = make_settings(infra, GX_WORKFLOW_PROGRESS_POLL_INTERVAL=30,
                               GX_WORKFLOW_PROGRESS_KEEPALIVE=1.0,
                               GX_WORKFLOW_PROGRESS_LISTENER_CHECK=0.5,
                               GX_WORKFLOW_OVERDUE_INTERVAL=3600)
    # Replica B: same schema and topics; one relay per service is enough.
    b_settings = a_settings.model_copy(update={"relay_enabled": False})
    app_a, app_b = create_app(a_settings), create_app(b_settings)
    async with serving(app_a) as url_a, serving(app_b) as url_b:
        async with httpx.AsyncClient(base_url=url_a, timeout=10) as ca, \
                httpx.AsyncClient(base_url=url_b, timeout=10) as cb:
            a = Workflow(a_settings, ca, app_a.state.runtime)
            b = Workflow(b_settings, cb, app_b.state.runtime)
            await wait_for(lambda: _listening(a, b))
            yield Replicas(a, b)


async def _listening(*wfs: Workflow) -> bool:
    return all(state(w.rt).progress_listener.server_pid for w in wfs)


@contextlib.asynccontextmanager
async def stream(wf: Workflow, who: str, task: uuid.UUID, division: str):
    async with wf.client.stream("GET", STREAM, params={"task_id": str(task), "division": division},
                                headers=wf.headers(who)) as resp:
        assert resp.status_code == 200, await resp.aread()
        assert resp.headers["content-type"].startswith("text/event-stream")
        reader = SseReader(resp)
        try:
            yield reader
        finally:
            reader.close()


def _township(snapshot: dict, code: str = TOWNSHIP) -> dict:
    return {c["code"]: c for c in snapshot["children"]}[code]


def _progress(event: str, _data) -> bool:
    return event == "progress"


async def test_snapshot_then_push_on_approve_with_case_event(live):
    task = uuid.uuid4()
    c1 = await live.a.submit(task_id=task)
    await live.a.submit(task_id=task, division="450103103202")
    async with stream(live.a, "county", task, COUNTY) as sse:
        event, first = await sse.next()
        assert event == "progress"
        plain = (await live.a.get("/progress", "county", task_id=str(task))).json()
        assert first == plain  # the same JSON as GET /progress
        assert _township(first)["at_level"]["township"] == 2
        t0 = time.monotonic()
        r = await live.a.post(c1["case_id"], "approve", "township", {"expected_version": 1})
        assert r.status_code == 200
        events = await sse.until(_progress, timeout=3)
        assert time.monotonic() - t0 < 2
    cases = [d for e, d in events if e == "case"]
    assert [(c["case_id"], c["status"], c["level"], c["version"]) for c in cases] == [
        (c1["case_id"], "in_review", "county", 2)]
    assert set(cases[0]) == {"case_id", "version", "status", "level", "late", "division_code",
                             "subject_kind", "last_action"}  # nothing personal, no title
    snap = events[-1][1]
    assert _township(snap)["at_level"] == {"township": 1, "county": 1, "city": 0, "region": 0}


async def test_action_on_one_replica_pushes_to_a_stream_on_the_other(live):
    task = uuid.uuid4()
    c = await live.a.submit(task_id=task)
    async with stream(live.b, "township", task, TOWNSHIP) as sse:
        await sse.next()
        r = await live.a.post(c["case_id"], "return", "township", {
            "expected_version": 1, "reason_code": "R01", "reason": "数据填报错误"})
        assert r.status_code == 200
        events = await sse.until(_progress, timeout=3)
    assert ("case", c["case_id"], "returned") in [(e, d.get("case_id"), d.get("status"))
                                                  for e, d in events]
    assert events[-1][1]["total"]["returned"] == 1


async def test_burst_is_coalesced_and_other_divisions_are_quiet(live):
    task = uuid.uuid4()
    mine = [await live.a.submit(task_id=task) for _ in range(5)]
    theirs = await live.a.submit(task_id=task, division=OTHER_TOWNSHIP_VILLAGE)
    async with stream(live.b, "township", task, TOWNSHIP) as sse:
        await sse.next()
        # A change of the same task elsewhere: woken, re-checked, nothing to push.
        await live.a.post(theirs["case_id"], "approve", "other_township", {"expected_version": 1})
        with pytest.raises(asyncio.TimeoutError):
            await sse.until(_progress, timeout=0.8)
        pushes, cases, start = [], set(), len(sse.arrivals)
        began = time.monotonic()
        for c in mine:  # ~60 ms apart: uncoalesced this would be five pushes
            await live.a.post(c["case_id"], "approve", "township", {"expected_version": 1})
            await asyncio.sleep(0.05)
        while len(cases) < 5:
            event, data = await sse.next(timeout=3)
            if event == "case":
                cases.add(data["case_id"])
            elif event == "progress":
                pushes.append((time.monotonic(), data))
        if not pushes or pushes[-1][1]["total"]["at_level"]["county"] < 5:
            pushes.append((time.monotonic(), (await sse.until(_progress))[-1][1]))
        arrivals = [t for t, e in sse.arrivals[start:] if e == "progress"]
    assert cases == {c["case_id"] for c in mine}
    assert pushes[-1][1]["total"]["at_level"]["county"] == 5
    # Five approvals, coalesced: at most one push per 0.2 s window (≤ 3 when the approvals
    # come quickly; a loaded machine spreads them out and earns more windows).
    assert len(pushes) <= max(3, 1 + (pushes[-1][0] - began) / 0.2)
    gaps = [b - a for a, b in zip(arrivals, arrivals[1:])]
    assert all(g >= 0.1 for g in gaps), gaps  # 0.2 s apart at the server; client jitter


async def test_listener_reconnects_after_its_connection_is_killed(live):
    listener = state(live.b.rt).progress_listener
    before, pid = listener.connects, listener.server_pid
    async with live.a.rt.pool.acquire() as conn:
        assert await conn.fetchval("SELECT pg_terminate_backend($1)", pid)
    await wait_for(lambda: _reconnected(listener, before), timeout=10)
    assert listener.server_pid != pid
    task = uuid.uuid4()
    c = await live.a.submit(task_id=task)
    async with stream(live.b, "township", task, TOWNSHIP) as sse:
        await sse.next()
        await live.a.post(c["case_id"], "approve", "township", {"expected_version": 1})
        events = await sse.until(_progress, timeout=3)
    assert events[-1][1]["total"]["at_level"]["county"] == 1


async def _reconnected(listener, before: int) -> bool:
    return listener.connects > before and listener.server_pid is not None


async def test_poll_fallback_catches_a_lost_notification(live):
    hub = state(live.b.rt).progress_hub
    task = uuid.uuid4()
    c = await live.a.submit(task_id=task)
    old = hub.timing.poll_interval
    hub.timing.poll_interval = 0.5
    try:
        async with stream(live.b, "township", task, TOWNSHIP) as sse:
            await sse.next()
            # A change with no NOTIFY at all (as if the notification was lost).
            async with live.a.rt.pool.acquire() as conn:
                await conn.execute(
                    f"UPDATE {live.a.settings.schema}.cases SET status = 'accepted', "
                    f"changed_tx = pg_current_xact_id()::text::bigint WHERE case_id = $1",
                    uuid.UUID(c["case_id"]))
            events = await sse.until(_progress, timeout=3)
    finally:
        hub.timing.poll_interval = old
    assert ("case", "accepted") in [(e, d.get("status")) for e, d in events]
    assert events[-1][1]["total"]["accepted"] == 1


async def test_keepalive_and_client_disconnect_ends_the_stream(live):
    hubs = [state(w.rt).progress_hub for w in (live.a, live.b)]
    task = uuid.uuid4()
    async with stream(live.a, "county", task, COUNTY) as sse:
        await sse.next()
        assert hubs[0].subscriber_count() >= 1
        with pytest.raises(asyncio.TimeoutError):
            await sse.next(timeout=1.5)  # nothing changes: only comments arrive
        assert "keep-alive" in sse.comments
    # ended by the disconnect itself, not by a failed write at the next keep-alive (1 s)
    await wait_for(lambda: _no_subscribers(hubs), timeout=0.9, interval=0.02)


async def _no_subscribers(hubs) -> bool:
    return all(h.subscriber_count() == 0 for h in hubs)


async def test_stream_jurisdiction_and_bad_input(live):
    task = str(uuid.uuid4())
    h = live.a.headers
    r = await live.a.client.get(STREAM, params={"task_id": task, "division": COUNTY},
                                headers=h("township"))
    assert r.status_code == 403 and r.json()["code"] == "out_of_jurisdiction"
    r = await live.a.client.get(STREAM, params={"task_id": task, "division": "4501"},
                                headers=h("county"))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "division"
    r = await live.a.client.get(STREAM, params={"task_id": task, "division": "450103999000"},
                                headers=h("county"))
    assert r.status_code == 404
    r = await live.a.client.get(STREAM, params={"task_id": task})
    assert r.status_code == 401
    assert all(state(w.rt).progress_hub.subscriber_count() == 0 for w in (live.a, live.b))


async def test_streams_of_one_view_share_a_progress_read():
    from gx_workflow.application.live import LiveTiming, ProgressHub
    hub, calls = ProgressHub(LiveTiming()), []

    async def read():
        calls.append(1)
        await asyncio.sleep(0.05)
        return {"n": len(calls)}
    key, woken = ("task", "450000000000"), time.monotonic()
    results = await asyncio.gather(*[hub.shared_read(key, woken, read) for _ in range(5)])
    assert results == [{"n": 1}] * 5 and len(calls) == 1
    # woken after that read started: it may miss the change, so a new read
    assert await hub.shared_read(key, time.monotonic(), read) == {"n": 2}
