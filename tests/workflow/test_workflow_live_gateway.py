"""Live progress through the gateway: login, SSE stream relayed unbuffered, approve, push."""
from __future__ import annotations

import uuid

import asyncpg
import httpx
from workflow_support import VILLAGE, SseReader

from gx_contracts.events.base import Submission
from gx_kernel.eventstore import EventStore

from gx_workflow.application.cases import intake_submission, now_utc
from tests.e2e.stack import running_stack


async def _open_case(stack, task: uuid.UUID) -> str:
    """Open a case in the stack's workflow schema the way its intake consumer does."""
    pool = await asyncpg.create_pool(stack.database_url, min_size=1, max_size=1)
    try:
        store = EventStore(pool, stack.schema("workflow"))
        sub = Submission(subject_kind="agri.report", subject_id=str(uuid.uuid4()),
                         division_code=VILLAGE, task_id=task, revision=1, title="e2e")
        async with pool.acquire() as conn:
            async with conn.transaction():
                case = await intake_submission(store, conn, sub, {"actor": "e2e"}, now_utc())
        return str(case.case_id)
    finally:
        await pool.close()


async def test_progress_stream_through_the_gateway(infra):
    async with running_stack(infra) as stack:
        async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=10) as client:
            county = await stack.login(client, "qingxiu_qu")
            township = await stack.login(client, "changtang_zhen")
            task = uuid.uuid4()
            case_id = await _open_case(stack, task)
            params = {"task_id": str(task), "division": "450103000000"}
            r = await client.get("/api/v1/workflow/progress/stream", headers=township,
                                 params=params)
            assert r.status_code == 403  # the township may not watch the county
            async with client.stream("GET", "/api/v1/workflow/progress/stream",
                                     headers=county, params=params) as resp:
                assert resp.status_code == 200
                assert resp.headers["content-type"].startswith("text/event-stream")
                sse = SseReader(resp)
                try:
                    event, first = await sse.next()
                    assert event == "progress" and first["total"]["at_level"]["township"] == 1
                    r = await client.post(f"/api/v1/workflow/cases/{case_id}/approve",
                                          json={"expected_version": 1},
                                          headers={**township, "Idempotency-Key": "e2e-1"})
                    assert r.status_code == 200, r.text
                    events = await sse.until(lambda e, _d: e == "progress", timeout=5)
                finally:
                    sse.close()
            assert ("case", case_id, "county") in [(e, d.get("case_id"), d.get("level"))
                                                  for e, d in events]
            assert events[-1][1]["total"]["at_level"]["county"] == 1
