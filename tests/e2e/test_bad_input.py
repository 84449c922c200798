"""Bad input through the gateway: clear 4xx naming the field, never a 500, nothing written."""
import uuid

import httpx
import pytest

from .slice_helpers import VALUES, my_report, publish_task


@pytest.fixture(scope="module")
async def ctx(stack):
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=30) as client:
        region = await stack.login(client, "qu_tongji")
        task_id = await publish_task(client, region, "450103103000", period="2026")
        village = await stack.login(client, "tiantang_cun")
        report = await my_report(client, village, task_id)
        r = await client.put(f"/api/v1/agri/reports/{report['report_id']}/draft", headers=village,
                             json={"values": VALUES, "explanations": {}, "expected_version": 0})
        assert r.status_code == 200, r.text
        yield {"region": region, "village": village, "task_id": task_id,
               "report_id": report["report_id"]}


def problem_fields(r: httpx.Response) -> list[str]:
    assert r.headers["content-type"].startswith("application/problem+json"), r.text
    body = r.json()
    assert body["code"] and body["detail"] and body["status"] == r.status_code
    return [e["field"] for e in body["errors"]]


async def test_malformed_json_is_422(stack, ctx):
    async with httpx.AsyncClient(base_url=stack.gateway_url) as client:
        r = await client.put(f"/api/v1/agri/reports/{ctx['report_id']}/draft",
                             headers={**ctx["village"], "content-type": "application/json"},
                             content=b'{"values": {"crop_area": 1,')
    assert r.status_code == 422
    assert problem_fields(r)
    assert "JSON" in r.json()["detail"]


@pytest.mark.parametrize("payload,field", [
    ({"values": VALUES, "explanations": {}, "expected_version": 1, "surprise": 1}, "surprise"),
    ({"values": VALUES, "explanations": {}, "expected_version": "one"}, "expected_version"),
    ({"values": {"crop_area": "很多"}, "explanations": {}, "expected_version": 1}, "crop_area"),
    ({"values": {"crop_area": -5}, "explanations": {}, "expected_version": 1}, "crop_area"),
    ({"explanations": {}, "expected_version": 1}, "values"),
])
async def test_wrong_fields_and_types_are_422_naming_the_field(stack, ctx, payload, field):
    async with httpx.AsyncClient(base_url=stack.gateway_url) as client:
        r = await client.put(f"/api/v1/agri/reports/{ctx['report_id']}/draft",
                             headers=ctx["village"], json=payload)
    assert r.status_code == 422, r.text
    assert any(field in f for f in problem_fields(r)), r.json()


async def test_unknown_indicator_is_422_naming_it(stack, ctx):
    async with httpx.AsyncClient(base_url=stack.gateway_url) as client:
        r = await client.put(f"/api/v1/agri/reports/{ctx['report_id']}/draft",
                             headers=ctx["village"],
                             json={"values": {"unicorn_area": 3}, "explanations": {},
                                   "expected_version": 1})
    assert r.status_code == 422
    assert "unicorn_area" in str(r.json())


async def test_unknown_ids_are_404(stack, ctx):
    async with httpx.AsyncClient(base_url=stack.gateway_url) as client:
        a = await client.get(f"/api/v1/agri/reports/{uuid.uuid4()}", headers=ctx["village"])
        w = await client.get(f"/api/v1/workflow/cases/{uuid.uuid4()}", headers=ctx["region"])
    assert a.status_code == 404 and w.status_code == 404
    problem_fields(a)


async def test_stale_version_is_409_and_nothing_is_written(stack, ctx):
    async with httpx.AsyncClient(base_url=stack.gateway_url) as client:
        r = await client.put(f"/api/v1/agri/reports/{ctx['report_id']}/draft",
                             headers=ctx["village"],
                             json={"values": {**VALUES, "crop_area": 5}, "explanations": {},
                                   "expected_version": 0})
        after = (await client.get(f"/api/v1/agri/reports/{ctx['report_id']}",
                                  headers=ctx["village"])).json()
    assert r.status_code == 409 and r.json()["code"] == "version_conflict"
    assert after["version"] == 1 and after["values"]["crop_area"] == VALUES["crop_area"]


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer not-a-token"},
                                     {"Authorization": "Basic dXNlcjpwYXNz"}])
async def test_missing_or_invalid_token_is_401(stack, ctx, headers):
    async with httpx.AsyncClient(base_url=stack.gateway_url) as client:
        r = await client.get(f"/api/v1/agri/reports/{ctx['report_id']}", headers=headers)
    assert r.status_code == 401
    problem_fields(r)


async def test_wrong_role_and_outside_jurisdiction_are_403(stack, ctx):
    async with httpx.AsyncClient(base_url=stack.gateway_url) as client:
        village = ctx["village"]
        publish = await client.post("/api/v1/agri/tasks", headers=village, json={
            "form_code": "A301", "period": "2026", "title": "x",
            "scope_division": "450103103000", "deadline": "2026-12-31T00:00:00+08:00"})
        other = await stack.login(client, "liuxu_zhen")  # another township
        progress = await client.get("/api/v1/workflow/progress", headers=other,
                                    params={"task_id": ctx["task_id"],
                                            "division": "450103103000"})
        neighbour = await stack.login(client, "dingxi_cun")
        foreign = await client.put(f"/api/v1/agri/reports/{ctx['report_id']}/draft",
                                   headers=neighbour, json={"values": VALUES, "explanations": {},
                                                            "expected_version": 1})
    assert publish.status_code == 403
    assert progress.status_code == 403
    assert foreign.status_code in (403, 404)  # another village's report
