"""`make run`'s demo data, loaded through the gateway of the whole system (in-process)."""
import asyncio

import httpx

from gx_devstack.demo import load_demo, users_table
from tests.e2e.stack import running_stack


async def test_demo_data_loads_and_reloads(infra):
    async with running_stack(infra) as stack:
        summary = await asyncio.to_thread(load_demo, stack.gateway_url, 30.0)
        assert summary["ok"], summary["warnings"]
        assert set(summary["tasks"]) == {"A301", "A302"}
        assert summary["tasks"]["A301"]["period"] == "2026-EARLY"
        assert summary["tasks"]["A302"]["period"] == "2026-Q4"
        assert len(summary["users_created"]) == 4
        reports = summary["reports"]
        states = {k: (r["status"], r["review_level"]) for k, r in reports.items()}
        assert states["A301/tiantang_cun"] == ("submitted", "region")  # waits at the region
        assert states["A301/dingxi_cun"] == ("submitted", "county")
        assert states["A301/dongjiang_cun"] == ("submitted", "county")
        assert states["A301/nazeng_cun"] == ("submitted", "township")
        assert states["A301/changda_cun"][0] == "draft"
        assert states["A302/tiantang_cun"] == ("submitted", "township")
        returned = reports["A301/fengmu_cun"]
        assert returned["status"] == "returned"
        assert returned["last_return"]["reason_code"] == "R03"
        assert "early_rice_output" in returned["last_return"]["field_notes"]
        assert reports["A301/tiantang_cun"]["explanations"]["early_rice_output"]
        assert reports["A301/tiantang_cun"]["approved_level"] == "county"

        # a second run changes nothing and warns about nothing
        again = await asyncio.to_thread(load_demo, stack.gateway_url, 30.0)
        assert again["ok"], again["warnings"]
        assert again["users_created"] == []
        assert again["tasks"] == summary["tasks"]
        assert {k: (r["status"], r["version"]) for k, r in again["reports"].items()} == \
            {k: (r["status"], r["version"]) for k, r in reports.items()}

        # the township sees what the demo promised in its queue and in the monitor
        async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=30) as client:
            town = await stack.login(client, "changtang_zhen")
            task_id = summary["tasks"]["A301"]["task_id"]
            mon = (await client.get(f"/api/v1/agri/tasks/{task_id}/monitor",
                                    headers=town)).json()
            assert mon["progress"]["submitted"] == 4 and mon["progress"]["returned"] == 1
            assert mon["progress"]["draft"] == 1
            assert mon["progress"]["approved"]["township"] == 3
            # archive copies print through the gateway too
            rid = reports["A301/tiantang_cun"]["report_id"]
            village = await stack.login(client, "tiantang_cun")
            r = await client.get(f"/api/v1/agri/reports/{rid}/pdf", headers=village)
            assert r.status_code == 200 and r.content.startswith(b"%PDF")
            assert r.headers["content-type"] == "application/pdf"
            r = await client.get(f"/api/v1/agri/tasks/{task_id}/summary.pdf",
                                 params={"division": "450103103000"}, headers=town)
            assert r.status_code == 200 and r.content.startswith(b"%PDF")
    assert "fengmu_cun" in users_table() and "qu_tongji" in users_table()


def test_demo_never_raises_without_a_gateway():
    summary = load_demo("http://127.0.0.1:9", timeout=0.5)
    assert summary["ok"] is False and summary["warnings"]
