"""定期确认: erroneous (差错, a reason, the county's 实地核实 list) and moved out (迁出, the
destination county's list), changed (a survey form as an event-sourced aggregate), a unit found
on the ground; progress counted live; bad input; the read models rebuilt from the registry's
events to the same rows — through the gateway on the real PostgreSQL and broker."""
from __future__ import annotations

import asyncpg
import httpx
import pytest

from gx_kernel.eventstore import EventStore
from gx_kernel.projections import rebuild

from gx_registry.application.projections import projections

from .registry_support import ADDR, TIANTANG, gb18030_csv, upload, uscc, wait_done

pytestmark = pytest.mark.e2e
XINGNING_VILLAGE = "450102001003"  # 兴宁社区居委会 of 兴宁区, another county
NAMES = ("宏达科技", "恒通贸易", "金瑞物流", "鸿运餐饮")


@pytest.fixture(scope="module")
async def gw(stack):
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=60) as client:
        heads = {u: await stack.login(client, u) for u in (
            "qu_tongji", "qingxiu_qu", "changtang_zhen", "tiantang_cun", "tiantang_wangge")}
        rows = [[uscc(40 + i), f"南宁天堂{n}有限公司", ADDR.format(40 + i), "黄伟", "存续"]
                for i, n in enumerate(NAMES)]
        batch, _ = await upload(client, heads["qu_tongji"], gb18030_csv(rows), "确认.csv")
        assert (await wait_done(client, heads["qu_tongji"], batch))["status"] == "done"
        r = await client.post("/api/v1/registry/rounds", headers=heads["qingxiu_qu"], json={
            "period": "2026-Q3", "scope_division": "450103000000", "title": "三季度定期确认"})
        assert r.status_code == 201, r.text
        units = (await client.get(f"/api/v1/registry/rounds/{r.json()['round_id']}/units",
                                  headers=heads["tiantang_cun"])).json()["items"]
        yield client, heads, r.json()["round_id"], {u["name"][4:8]: u["unit_id"] for u in units}


async def _confirm(client, h, rid, body, key=None):
    hh = {**h, "Idempotency-Key": key} if key else h
    return await client.post(f"/api/v1/registry/rounds/{rid}/confirm", headers=hh, json=body)


async def test_bad_input_is_named(gw):
    client, h, rid, u = gw
    vil = h["tiantang_cun"]
    cases = [
        ({"unit_id": u["宏达科技"], "outcome": "erroneous"}, "note", "reason_required"),
        ({"unit_id": u["宏达科技"], "outcome": "erroneous", "note": "   "}, "note", "reason_required"),
        ({"unit_id": u["恒通贸易"], "outcome": "moved_out", "note": "已搬走"}, "to_division",
         "to_division_required"),
        ({"unit_id": u["恒通贸易"], "outcome": "moved_out", "note": "已搬走",
          "to_division": TIANTANG}, "to_division", "not_outside"),
        ({"unit_id": u["恒通贸易"], "outcome": "moved_out", "note": "已搬走",
          "to_division": "450103999999"}, "to_division", "unknown_division"),
        ({"unit_id": u["恒通贸易"], "outcome": "confirmed", "to_division": XINGNING_VILLAGE},
         "to_division", "to_division_unexpected"),
    ]
    for body, field, code in cases:
        r = await _confirm(client, vil, rid, body)
        assert r.status_code == 422, (body, r.text)
        assert r.json()["code"] == code and r.json()["errors"][0]["field"] == field, r.json()
        assert any("\u4e00" <= ch <= "\u9fff" for ch in r.json()["detail"])
    for body in ({"unit_id": u["宏达科技"], "outcome": "vanished"},
                 {"unit_id": u["宏达科技"], "outcome": "erroneous", "note": "x" * 501},
                 {"unit_id": u["宏达科技"], "outcome": "moved_out", "note": "走了",
                  "to_division": "4501"},
                 {"unit_id": "not-a-uuid", "outcome": "confirmed"}):
        assert (await _confirm(client, vil, rid, body)).status_code == 422, body
    r = await _confirm(client, vil, rid, {"unit_id": "00000000-0000-0000-0000-000000000001",
                                          "outcome": "confirmed"})
    assert r.status_code == 404
    r = await _confirm(client, h["tiantang_wangge"], rid, {"unit_id": u["宏达科技"],
                                                          "outcome": "confirmed"})
    assert r.status_code == 403


async def test_erroneous_goes_to_the_county_with_its_reason(gw):
    client, h, rid, u = gw
    body = {"unit_id": u["宏达科技"], "outcome": "erroneous", "note": "查无此单位，疑为重复登记"}
    r = await _confirm(client, h["tiantang_cun"], rid, body, key="err-1")
    assert r.status_code == 200, r.text
    assert (r.json()["outcome_zh"], r.json()["holder_code"]) == ("差错", "450103000000")
    again = await _confirm(client, h["tiantang_cun"], rid, body, key="err-1")
    assert again.json() == r.json()
    tasks = (await client.get("/api/v1/registry/tasks?kind=field_verification",
                              headers=h["qingxiu_qu"])).json()["items"]
    mine = [t for t in tasks if t["unit_id"] == u["宏达科技"]]
    assert len(mine) == 1 and mine[0]["reasons"][0]["code"] == "confirmation.erroneous"
    assert "疑为重复登记" in mine[0]["reasons"][0]["text"]
    unit = (await client.get(f"/api/v1/registry/units/{u['宏达科技']}",
                             headers=h["qingxiu_qu"])).json()
    kinds = [e["type"] for e in unit["history"]]
    assert kinds[-2:] == ["registry.unit.confirmed", "registry.unit.flagged"]
    assert kinds.count("registry.unit.flagged") == 1  # the retry raised nothing again
    assert unit["history"][-1]["source"]["round_id"] == rid


async def test_moved_out_lands_in_the_destination_county(gw):
    client, h, rid, u = gw
    r = await _confirm(client, h["tiantang_cun"], rid, {
        "unit_id": u["恒通贸易"], "outcome": "moved_out", "note": "2026年8月迁至兴宁区",
        "to_division": XINGNING_VILLAGE})
    assert r.status_code == 200, r.text
    assert r.json()["holder_code"] == "450102000000"
    tasks = (await client.get("/api/v1/registry/tasks?holder=450102000000",
                              headers=h["qu_tongji"])).json()["items"]
    t = next(t for t in tasks if t["unit_id"] == u["恒通贸易"])
    assert (t["holder_code"], t["placed_code"], t["kind"]) == (
        "450102000000", XINGNING_VILLAGE, "field_verification")
    assert t["reasons"][0]["code"] == "confirmation.moved_out"
    unit = (await client.get(f"/api/v1/registry/units/{u['恒通贸易']}",
                             headers=h["qu_tongji"])).json()
    assert unit["division_code"] == XINGNING_VILLAGE
    moved = unit["history"][-1]
    assert moved["type"] == "registry.unit.moved" and moved["source"]["kind"] == "confirmation"
    # the county it left no longer sees it; the village still lists it, as moved out
    assert (await client.get(f"/api/v1/registry/units/{u['恒通贸易']}",
                             headers=h["qingxiu_qu"])).status_code == 404
    items = (await client.get(f"/api/v1/registry/rounds/{rid}/units",
                              headers=h["tiantang_cun"])).json()["items"]
    assert next(i for i in items if i["unit_id"] == u["恒通贸易"])["outcome_zh"] == "迁出"
    # moved out, it is no longer the village's to confirm
    r = await _confirm(client, h["tiantang_cun"], rid, {"unit_id": u["恒通贸易"],
                                                        "outcome": "confirmed"})
    assert r.status_code == 404


async def test_changed_opens_an_event_sourced_form_and_progress_counts(gw):
    client, h, rid, u = gw
    r = await _confirm(client, h["tiantang_cun"], rid, {
        "unit_id": u["金瑞物流"], "outcome": "changed", "note": "负责人更换"})
    assert r.status_code == 200, r.text
    form = (await client.get(f"/api/v1/registry/forms/{r.json()['form_id']}",
                             headers=h["tiantang_cun"])).json()
    assert (form["status"], form["version"], form["round_id"]) == ("not_started", 1, rid)
    assert form["values"]["name"] == "南宁天堂金瑞物流有限公司"
    assert form["values"]["division_code"] == TIANTANG
    # a unit found on the ground: a form of the village without a task
    r = await client.post("/api/v1/registry/forms", headers=h["tiantang_cun"],
                          json={"village_code": TIANTANG})
    assert r.status_code == 201 and r.json()["unit_id"] is None and r.json()["version"] == 1
    for who in ("changtang_zhen", "qingxiu_qu"):
        pr = (await client.get(f"/api/v1/registry/rounds/{rid}/progress",
                               headers=h[who])).json()
        assert (pr["units"], pr["done"]) == (4, 3), (who, pr)
    town = (await client.get(f"/api/v1/registry/rounds/{rid}/progress",
                             headers=h["changtang_zhen"])).json()
    row = next(i for i in town["items"] if i["division_code"] == TIANTANG)
    assert (row["erroneous"], row["moved_out"], row["changed"], row["confirmed"]) == (1, 1, 1, 0)


async def test_one_unit_twice_in_a_batch_is_reported_not_registered_twice(gw):
    client, h, _, _ = gw
    region = h["qu_tongji"]
    rows = [[uscc(60), "南宁天堂双记录科技有限公司", ADDR.format(60), "韦强", "存续"],
            [uscc(60), "南宁天堂双记录科技有限责任公司", ADDR.format(60), "韦强", "存续"],
            ["", "南宁天堂同名餐饮有限公司", ADDR.format(61), "李芳", "存续"],
            ["", "南宁天堂同名餐饮有限责任公司", ADDR.format(61), "李芳", "存续"]]
    batch, _ = await upload(client, region, gb18030_csv(rows), "重复.csv")
    done = await wait_done(client, region, batch)
    assert done["status"] == "done", done
    assert (done["outcomes"]["new"], done["outcomes"]["duplicate"]) == (2, 2), done
    errs = (await client.get(f"/api/v1/registry/imports/{batch}/errors", headers=region)).json()
    assert [(e["row_no"], e["code"]) for e in errs["items"]] == [
        (3, "batch.duplicate_uscc"), (5, "batch.duplicate_name")]
    assert "与第2行" in errs["items"][0]["reason"]
    units = (await client.get("/api/v1/registry/units?q=双记录", headers=region)).json()["items"]
    assert len(units) == 1
    unit = (await client.get(f"/api/v1/registry/units/{units[0]['unit_id']}",
                             headers=region)).json()
    expl = unit["history"][0]["explanation"]
    assert expl["in_batch_duplicates"]["rows"] == [3], expl


async def test_read_models_rebuild_from_the_registry_events(gw, stack):
    s = stack.schema("registry")
    pool = await asyncpg.create_pool(stack.database_url, min_size=1, max_size=2)
    order = {"unit_forms": "form_id", "confirmations": "round_id, unit_id", "tasks": "task_id"}
    drop = {"updated_at", "created_at"}

    async def snapshot():
        async with pool.acquire() as conn:
            return {t: [{k: v for k, v in dict(r).items() if k not in drop}
                        for r in await conn.fetch(f"SELECT * FROM {s}.{t} ORDER BY {o}")]
                    for t, o in order.items()}
    try:
        before = await snapshot()
        assert before["unit_forms"] and before["confirmations"]
        await rebuild(EventStore(pool, schema=s), projections(s))
        after = await snapshot()
        for t in order:
            assert after[t] == before[t], t
    finally:
        await pool.close()
