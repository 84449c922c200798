"""Issue 8, defect 1, the kernel's part, through the gateway: an event larger than the broker
takes is refused when it is appended (a Chinese 413, nothing written), so the relay never
meets it and the review pipeline keeps flowing.

The command bounds keep every valid body far below the default limit, so this stack runs its
services with a small GX_MAX_EVENT_BYTES: a return whose field notes are all within bounds
still makes an event over it.
"""
from __future__ import annotations

import os

import httpx
import pytest

from ..harness import wait_for
from .hardening_helpers import refused, settled
from .hardening_world import TIANTANG, USERS
from .slice_helpers import VALUES, act, my_report, publish_task, save_and_submit
from .stack import running_stack

LIMIT = 6000  # bytes: the submission and the case's events fit; 23 notes of 200 字 do not


@pytest.fixture(scope="module")
async def small_stack(infra):
    """Services built while GX_MAX_EVENT_BYTES is small (settings are read at start)."""
    saved = os.environ.get("GX_MAX_EVENT_BYTES")
    os.environ["GX_MAX_EVENT_BYTES"] = str(LIMIT)
    restored = False
    try:
        async with running_stack(infra) as s:
            _restore(saved)
            restored = True
            yield s
    finally:
        if not restored:
            _restore(saved)


def _restore(saved: str | None) -> None:
    if saved is None:
        os.environ.pop("GX_MAX_EVENT_BYTES", None)
    else:
        os.environ["GX_MAX_EVENT_BYTES"] = saved


async def test_an_event_over_the_broker_limit_is_refused_and_the_pipeline_keeps_flowing(
        small_stack):
    async with httpx.AsyncClient(base_url=small_stack.gateway_url, timeout=60) as gw:
        auth = {role: await small_stack.login(gw, u) for role, u in USERS.items()}
        task = await publish_task(gw, auth["region"], TIANTANG)
        report = await my_report(gw, auth["village"], task)
        await save_and_submit(gw, auth["village"], report, VALUES)
        url = f"/api/v1/workflow/cases/by-subject/agri.report/{report['report_id']}"

        async def opened():
            r = await gw.get(url, headers=auth["township"])
            return r.json() if r.status_code == 200 else None
        case = await wait_for(opened, timeout=30)
        notes = {i["code"]: "请核实" + "偏" * 197 for i in report["form"]["indicators"]}
        before = await settled(small_stack)
        r = await gw.post(f"/api/v1/workflow/cases/{case['case_id']}/return",
                          headers=auth["township"],
                          json={"expected_version": case["version"], "reason_code": "R01",
                                "reason": "请核实", "field_notes": notes})
        assert await settled(small_stack) == before, r.text[:300]
        refused(r, statuses=(413, 422))
        async with httpx.AsyncClient(base_url=small_stack.urls["workflow"]) as workflow:
            ready = await workflow.get("/ready")
        assert ready.status_code == 200, ready.text  # the relay is not stuck on anything
        await act(gw, auth["township"], case, "approve", comment="数据无误")

        async def agri_saw_it():
            h = (await gw.get(f"/api/v1/agri/reports/{report['report_id']}/history",
                              headers=auth["village"])).json()
            return any(s["what"] == "workflow.case.approved" for s in h["steps"])
        await wait_for(agri_saw_it, timeout=30)
