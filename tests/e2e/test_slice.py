"""Issue 2's slice end to end: village phone -> township -> county -> region, and back.

Everything over HTTP through the gateway with real logins, on real PostgreSQL and the real
broker; an outside aiokafka consumer reads the same story from the topics.
"""
import httpx

from ..kernel.kafka_util import body, read_topic
from .slice_helpers import (
    VALUES,
    act,
    case_in_queue,
    my_report,
    publish_task,
    report_status,
    save_and_submit,
)

VILLAGE, TOWNSHIP, COUNTY, REGION = "tiantang_cun", "changtang_zhen", "qingxiu_qu", "qu_tongji"


async def test_report_climbs_the_chain_and_is_accepted(stack):
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=30) as client:
        region = await stack.login(client, REGION)
        task_id = await publish_task(client, region, "450103000000")
        village = await stack.login(client, VILLAGE)
        report = await my_report(client, village, task_id)
        assert report["status"] == "not_started"
        await save_and_submit(client, village, report, VALUES)

        for user in (TOWNSHIP, COUNTY):
            auth = await stack.login(client, user)
            case = await case_in_queue(client, auth, report["report_id"])
            await act(client, auth, case, "approve", comment="数据无误")
        case = await case_in_queue(client, region, report["report_id"])
        await act(client, region, case, "accept", comment="验收通过")

        accepted = await report_status(client, village, report["report_id"], "confirmed")
        assert accepted["read_only"] is True
        r = await client.put(f"/api/v1/agri/reports/{report['report_id']}/draft",
                             headers=village, json={"values": VALUES, "explanations": {},
                                                    "expected_version": accepted["version"]})
        assert r.status_code == 409 and r.json()["code"] == "report_read_only"


async def test_county_returns_village_corrects_and_it_climbs_again(stack):
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=30) as client:
        region = await stack.login(client, REGION)
        task_id = await publish_task(client, region, "450103103000", period="2026-AUTUMN")
        village = await stack.login(client, VILLAGE)
        report = await my_report(client, village, task_id)
        await save_and_submit(client, village, report, VALUES)
        township = await stack.login(client, TOWNSHIP)
        await act(client, township, await case_in_queue(client, township, report["report_id"]),
                  "approve")
        county = await stack.login(client, COUNTY)
        case = await case_in_queue(client, county, report["report_id"])
        await act(client, county, case, "return", reason_code="R01",
                  reason="早稻产量与面积不符，请核实", field_notes={"early_rice_output": "单位应为公斤"})

        returned = await report_status(client, village, report["report_id"], "returned")
        assert "早稻产量与面积不符" in str(returned)
        assert "单位应为公斤" in str(returned)
        corrected = {**VALUES, "early_rice_output": 118000}
        await save_and_submit(client, village, returned, corrected)
        again = await case_in_queue(client, township, report["report_id"])  # from the bottom
        assert again["level"] == "township"

        history = (await client.get(f"/api/v1/agri/reports/{report['report_id']}/history",
                                    headers=village)).json()
        text = str(history)
        for expected in ("submitted", "returned", "village_coordinator", "county_statistician",
                         "早稻产量与面积不符"):
            assert expected in text, expected
        steps = (await client.get(f"/api/v1/workflow/cases/{again['case_id']}/history",
                                  headers=township)).json()["steps"]
        actions = [s["action"] for s in steps]
        assert actions[:4] == ["open", "approve", "return", "resubmit"], actions
        assert all(s["at"] and s["role"] for s in steps[1:])

        # An outside system reads the same story from the topics.
        def has(event_type: str, key: str, value: str, times: int = 1):
            return lambda records: sum(body(r)["type"] == event_type
                                       and body(r)["data"].get(key) == value
                                       for r in records) >= times

        agri = [body(r) for r in await read_topic(
            stack.kafka_bootstrap, stack.topic("agri.events"),
            until=has("agri.report.submitted", "report_id", report["report_id"], times=2))]
        flow = [body(r) for r in await read_topic(
            stack.kafka_bootstrap, stack.topic("workflow.events"),
            until=has("workflow.case.resubmitted", "case_id", again["case_id"]))]
        mine = [e["type"] for e in agri if e["data"].get("report_id") == report["report_id"]]
        assert mine.count("agri.report.submitted") == 2 and "agri.report.returned" in mine
        cases = [e["type"] for e in flow if e["data"].get("case_id") == again["case_id"]]
        assert cases[:4] == ["workflow.case.opened", "workflow.case.approved",
                             "workflow.case.returned", "workflow.case.resubmitted"]
