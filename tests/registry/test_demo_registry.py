"""`make run`'s register demo: 青秀区's stock imported through the gateway, the task list
pushed down to 天堂村; a second run imports nothing again (e2e)."""
from __future__ import annotations

import asyncio

import httpx
import pytest

from gx_devstack.demo import Api
from gx_devstack.demo_registry import UNITS, load_registry, stock_csv

pytestmark = pytest.mark.e2e


def _run(base: str) -> dict:
    with httpx.Client(timeout=60) as client:
        return load_registry(Api(client, base.rstrip("/") + "/api/v1"))


async def test_demo_stock_once_and_tasks_down_to_the_village(stack):
    assert stock_csv() == stock_csv()  # the same file every run (its hash)
    first = await asyncio.to_thread(_run, stack.gateway_url)
    assert first["status"] == "done" and first["units"] == UNITS, first
    assert first["pushed"]["county"] == UNITS and first["pushed"]["village"] > 50
    again = await asyncio.to_thread(_run, stack.gateway_url)
    assert again["status"] in ("done", "duplicate") and again["pushed"]["county"] == 0
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=30) as client:
        h = await stack.login(client, "qu_tongji")
        assert (await client.get("/api/v1/registry/units?limit=1", headers=h)).json()["total"] == UNITS
        v = await stack.login(client, "tiantang_cun")
        assert (await client.get("/api/v1/registry/tasks", headers=v)).json()["total"] > 0
