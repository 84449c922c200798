"""定期确认 with live progress for the levels above, and the audit run that lists units for
实地核实 — through the gateway on the real PostgreSQL and broker."""
from __future__ import annotations

import json

import httpx
import pytest

from .registry_support import ADDR, TIANTANG, gb18030_csv, upload, uscc, wait_done

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
async def gw(stack):
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=60) as client:
        heads = {u: await stack.login(client, u) for u in (
            "qu_tongji", "qingxiu_qu", "changtang_zhen", "tiantang_cun", "dingxi_cun")}
        rows = [[uscc(i), f"南宁天堂{n}有限公司", ADDR.format(i), "黄伟" if i != 3 else "", "存续"]
                for i, n in ((1, "宏达科技"), (2, "恒通贸易"), (3, "金瑞物流"))]
        branches = [["", "南宁天堂宏达科技有限公司南宁分公司", ADDR.format(4), "黄伟", "存续"],
                    ["", "南宁无此总部有限公司南宁分店", ADDR.format(5), "韦强", "存续"]]
        for i, part in enumerate((rows, branches)):  # the parent is in the register first
            batch, _ = await upload(client, heads["qu_tongji"], gb18030_csv(part), f"市场监管{i}.csv")
            assert (await wait_done(client, heads["qu_tongji"], batch))["status"] == "done"
        yield client, heads


async def test_confirmation_round_progress_is_live_above(gw):
    client, h = gw
    county, vil = h["qingxiu_qu"], h["tiantang_cun"]
    r = await client.post("/api/v1/registry/rounds", headers=county, json={
        "period": "2026-Q2", "scope_division": "450103000000", "title": "2026年二季度定期确认"})
    assert r.status_code == 201, r.text
    rid = r.json()["round_id"]
    r = await client.post("/api/v1/registry/rounds", headers=county, json={
        "period": "2026-Q2", "scope_division": "450102000000", "title": "越界"})
    assert r.status_code == 403
    units = (await client.get(f"/api/v1/registry/rounds/{rid}/units", headers=vil)).json()["items"]
    assert len(units) == 5 and all(u["outcome"] is None for u in units)
    assert (await client.get(f"/api/v1/registry/rounds/{rid}/units",
                             headers=h["dingxi_cun"])).json()["items"] == []
    # the township's live view, before and after
    url = f"/api/v1/registry/rounds/{rid}/progress/stream"
    async with client.stream("GET", url, headers=h["changtang_zhen"]) as s:
        assert s.headers["content-type"].startswith("text/event-stream")
        async for line in s.aiter_lines():
            if line.startswith("data: "):
                first = json.loads(line[6:])
                break
    assert first["units"] == 5 and first["done"] == 0
    by_name = {u["name"]: u for u in units}
    r = await client.post(f"/api/v1/registry/rounds/{rid}/confirm", headers=vil, json={
        "unit_id": by_name["南宁天堂宏达科技有限公司"]["unit_id"], "outcome": "confirmed"})
    assert r.status_code == 200, r.text
    r = await client.post(f"/api/v1/registry/rounds/{rid}/confirm", headers=vil, json={
        "unit_id": by_name["南宁天堂恒通贸易有限公司"]["unit_id"], "outcome": "changed",
        "note": "法定代表人已更换"})
    assert r.status_code == 200 and r.json()["form_id"]
    form = (await client.get(f"/api/v1/registry/forms/{r.json()['form_id']}", headers=vil)).json()
    assert form["values"]["name"] == "南宁天堂恒通贸易有限公司" and form["status"] == "not_started"
    r = await client.post(f"/api/v1/registry/rounds/{rid}/confirm", headers=h["dingxi_cun"], json={
        "unit_id": by_name["南宁天堂金瑞物流有限公司"]["unit_id"], "outcome": "confirmed"})
    assert r.status_code == 404  # not dingxi's unit
    for who, at, want in (("changtang_zhen", None, (5, 2)), ("qingxiu_qu", None, (5, 2)),
                          ("qu_tongji", "450103000000", (5, 2))):
        q = f"?division={at}" if at else ""
        pr = (await client.get(f"/api/v1/registry/rounds/{rid}/progress{q}", headers=h[who])).json()
        assert (pr["units"], pr["done"]) == want, (who, pr)
    town = (await client.get(f"/api/v1/registry/rounds/{rid}/progress", headers=h["changtang_zhen"])).json()
    row = next(i for i in town["items"] if i["division_code"] == TIANTANG)
    assert (row["confirmed"], row["changed"], row["name"]) == (1, 1, "天堂村委会")
    unit = (await client.get(f"/api/v1/registry/units/{by_name['南宁天堂宏达科技有限公司']['unit_id']}",
                             headers=county)).json()
    assert unit["history"][-1]["type"] == "registry.unit.confirmed"
    assert unit["history"][-1]["source"]["round_id"] == rid


async def test_audit_errors_become_field_verification_tasks(gw):
    client, h = gw
    county = h["qingxiu_qu"]
    r = await client.post("/api/v1/registry/audits", headers=county,
                          json={"scope_division": "450103000000"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["by_rule"] == {"activity_unit.no_parent": 1, "name.missing_legal_rep": 1}, body
    tasks = (await client.get("/api/v1/registry/tasks?kind=field_verification",
                              headers=county)).json()["items"]
    reasons = sorted(t["reasons"][0]["code"] for t in tasks)
    assert reasons == ["activity_unit.no_parent", "name.missing_legal_rep"]
    assert (await client.post("/api/v1/registry/audits", headers=h["tiantang_cun"],
                              json={"scope_division": TIANTANG})).status_code == 403
