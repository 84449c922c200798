"""`make run`'s demo loads the reform's real scope from 52号 and 青秀区's staffing through the
gateway, and a second run changes nothing (e2e)."""
from __future__ import annotations

import asyncio

import httpx
import pytest

from gx_devstack.demo import load_demo

pytestmark = pytest.mark.e2e


async def test_demo_loads_the_reform_and_the_demo_county_twice_the_same(stack):
    first = await asyncio.to_thread(load_demo, stack.gateway_url)
    assert first["ok"], first["warnings"]
    org = first["organisation"]
    assert org["reform_counties"] == 15 and org["progress_report"] == "submitted"
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=30) as client:
        h = await stack.login(client, "qu_tongji")
        d = (await client.get("/api/v1/organisation/dashboard", headers=h)).json()
        before = {r["code"]: r for r in d["rows"]}
        again = await asyncio.to_thread(load_demo, stack.gateway_url)
        assert again["ok"], again["warnings"]
        d2 = (await client.get("/api/v1/organisation/dashboard", headers=h)).json()
    nanning = before["450100000000"]
    assert nanning["in_reform"] == "1 个县" and nanning["staff"] == 9
    assert nanning["establishment"] == 4 and nanning["plans"] == 1
    assert {m: nanning[m] for m in ("dispatched", "full_time", "purchased_service",
                                    "part_time")} == {"dispatched": 2, "full_time": 2,
                                                      "purchased_service": 1, "part_time": 4}
    assert before["451000000000"]["in_reform"] == "8 个县"
    assert {r["code"]: r for r in d2["rows"]} == before
