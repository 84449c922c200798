"""关闭单位: the county (or the region) closes a unit with a reason from the data; the unit's
history shows it, it leaves the task lists and the confirmation round; a department file that
says 注销/吊销 closes a unit too (also one the register already had with that status); bad input
and jurisdiction — through the gateway on the real PostgreSQL and broker."""
from __future__ import annotations

import httpx
import pytest

from .registry_support import ADDR, gb18030_csv, upload, uscc, wait_done

pytestmark = pytest.mark.e2e
XINGNING_ADDR = "广西南宁市兴宁区民生街道兴宁社区兴宁路{}号"  # 兴宁区: another county
NAMES = ("闭店科技", "闭店贸易", "闭店物流", "闭店餐饮")


def _zh(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


@pytest.fixture(scope="module")
async def gw(stack):
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=60) as client:
        heads = {u: await stack.login(client, u) for u in (
            "qu_tongji", "qingxiu_qu", "changtang_zhen", "tiantang_cun")}
        rows = [[uscc(70 + i), f"南宁天堂{n}有限公司", ADDR.format(70 + i), "黄伟", "存续"]
                for i, n in enumerate(NAMES)]
        rows.append([uscc(79), "南宁兴宁闭店建材有限公司", XINGNING_ADDR.format(9), "韦强", "存续"])
        rows.append([uscc(78), "南宁天堂早已吊销商贸有限公司", ADDR.format(78), "陆明", "吊销"])
        batch, _ = await upload(client, heads["qu_tongji"], gb18030_csv(rows), "关闭.csv")
        assert (await wait_done(client, heads["qu_tongji"], batch))["status"] == "done"
        r = await client.post("/api/v1/registry/rounds", headers=heads["qingxiu_qu"], json={
            "period": "2026-Q4", "scope_division": "450103000000", "title": "四季度定期确认"})
        assert r.status_code == 201, r.text
        units = (await client.get("/api/v1/registry/units?q=闭店",
                                  headers=heads["qu_tongji"])).json()["items"]
        ids = {u["name"].removeprefix("南宁天堂").removeprefix("南宁兴宁")[:4]: u["unit_id"]
               for u in units}
        yield client, heads, r.json()["round_id"], ids


async def _close(client, h, unit_id, body, key=None):
    hh = {**h, "Idempotency-Key": key} if key else h
    return await client.post(f"/api/v1/registry/units/{unit_id}/close", headers=hh, json=body)


async def _open_tasks(client, h, unit_id):
    """The unit's tasks on the region's list and on 青秀区's (as the region sees it)."""
    items = []
    for q in ("", "&holder=450103000000"):
        r = await client.get(f"/api/v1/registry/tasks?limit=1000{q}", headers=h)
        assert r.status_code == 200, r.text
        items += r.json()["items"]
    return [t for t in items if t["unit_id"] == unit_id]


async def test_the_reasons_are_data(gw):
    client, h, _, _ = gw
    r = await client.get("/api/v1/registry/close-reasons", headers=h["qingxiu_qu"])
    assert r.status_code == 200
    got = {x["code"]: (x["label"], x["status"]) for x in r.json()["items"]}
    assert got["deregistered"] == ("注销", "6") and got["revoked"] == ("吊销", "7")
    assert {"cancelled", "suspended", "other"} <= got.keys()


async def test_bad_input_is_named(gw):
    client, h, _, u = gw
    county = h["qingxiu_qu"]
    for body, field, code in (
            ({"reason": "vanished"}, "reason", "close_reason_unknown"),
            ({"reason": "other"}, "note", "note_required"),
            ({"reason": "other", "note": "   "}, "note", "note_required")):
        r = await _close(client, county, u["闭店科技"], body)
        assert r.status_code == 422, (body, r.text)
        assert r.json()["code"] == code and r.json()["errors"][0]["field"] == field, r.json()
        assert _zh(r.json()["detail"])
    for body, field in (({}, "reason"), ({"reason": ""}, "reason"),
                        ({"reason": "deregistered", "note": "x" * 501}, "note"),
                        ({"reason": "deregistered", "when": "today"}, "when")):
        r = await _close(client, county, u["闭店科技"], body)
        assert r.status_code == 422, (body, r.text)
        assert field in r.text and _zh(r.json()["detail"]), r.json()
    assert (await _close(client, county, "not-a-uuid", {"reason": "revoked"})).status_code == 422
    r = await _close(client, county, "00000000-0000-0000-0000-000000000001", {"reason": "revoked"})
    assert r.status_code == 404
    for who in ("changtang_zhen", "tiantang_cun"):  # a township or village never closes
        r = await _close(client, h[who], u["闭店科技"], {"reason": "revoked"})
        assert r.status_code == 403 and r.json()["code"] == "role_forbidden", r.text
    unit = (await client.get(f"/api/v1/registry/units/{u['闭店科技']}", headers=county)).json()
    assert unit["closed"] is False  # nothing of the above closed it


async def test_a_county_cannot_close_another_countys_unit(gw):
    client, h, _, u = gw
    r = await _close(client, h["qingxiu_qu"], u["闭店建材"], {"reason": "deregistered"})
    assert r.status_code == 404, r.text  # outside the jurisdiction it does not exist
    unit = (await client.get(f"/api/v1/registry/units/{u['闭店建材']}",
                             headers=h["qu_tongji"])).json()
    assert unit["closed"] is False and unit["division_code"].startswith("450102")
    r = await _close(client, h["qu_tongji"], u["闭店建材"], {"reason": "shut_down"})
    assert r.status_code == 200 and r.json()["status"] == "4", r.text  # the region may


async def test_closing_is_idempotent_shows_in_history_and_leaves_lists(gw):
    client, h, rid, u = gw
    county, region, vil = h["qingxiu_qu"], h["qu_tongji"], h["tiantang_cun"]
    unit_id = u["闭店科技"]
    assert len(await _open_tasks(client, region, unit_id)) == 1  # 新增单位查找 from the file
    before = (await client.get(f"/api/v1/registry/rounds/{rid}/progress",
                               headers=county)).json()["units"]
    body = {"reason": "deregistered", "note": "2026年11月在市场监管局办理注销"}
    r = await _close(client, county, unit_id, body, key="close-1")
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["reason_zh"], r.json()["already_closed"],
            r.json()["tasks_closed"]) == ("6", "注销", False, 1)
    again = await _close(client, county, unit_id, body, key="close-1")
    assert again.json() == r.json()
    plain = await _close(client, county, unit_id, {"reason": "cancelled"})  # 撤销: also 6
    assert plain.status_code == 200 and plain.json()["already_closed"] is True
    other = await _close(client, county, unit_id, {"reason": "revoked"})
    assert other.status_code == 409 and other.json()["code"] == "already_closed"
    assert _zh(other.json()["detail"])
    unit = (await client.get(f"/api/v1/registry/units/{unit_id}", headers=county)).json()
    assert (unit["closed"], unit["status"]) == (True, "6")
    kinds = [e["type"] for e in unit["history"]]
    assert kinds.count("registry.unit.closed") == 1 and kinds[-1] == "registry.unit.closed"
    last = unit["history"][-1]
    assert (last["reason"], last["source"]["kind"], last["by"]) == ("注销", "manual", "覃丽华")
    assert "办理注销" in last["source"]["note"]
    assert await _open_tasks(client, region, unit_id) == []
    pushed = await client.post("/api/v1/registry/tasks/push-down", headers=region,
                               json={"to_level": "county"})
    assert pushed.status_code == 200, pushed.text
    assert all(t["unit_id"] != unit_id for t in (await client.get(
        "/api/v1/registry/tasks?limit=1000", headers=county)).json()["items"])
    # the confirmation round: off the village's list, out of the counts, not confirmable
    listed = (await client.get(f"/api/v1/registry/rounds/{rid}/units", headers=vil)).json()
    assert unit_id not in {x["unit_id"] for x in listed["items"]}
    assert {x["name"] for x in listed["items"]} >= {"南宁天堂闭店贸易有限公司"}
    after = (await client.get(f"/api/v1/registry/rounds/{rid}/progress",
                              headers=county)).json()["units"]
    assert after == before - 1
    r = await client.post(f"/api/v1/registry/rounds/{rid}/confirm", headers=vil,
                          json={"unit_id": unit_id, "outcome": "confirmed"})
    assert r.status_code == 404


async def test_a_department_file_closes_a_unit(gw):
    client, h, _, u = gw
    region = h["qu_tongji"]
    early = (await client.get("/api/v1/registry/units?q=早已吊销", headers=region)).json()
    gone = early["items"][0]  # new in the first file with 吊销: registered, closed, no task
    assert (gone["closed"], gone["status"]) == (True, "7")
    assert await _open_tasks(client, region, gone["unit_id"]) == []
    rows = [[uscc(71), "南宁天堂闭店贸易有限公司", ADDR.format(71), "黄伟", "注销"],
            [uscc(70), "南宁天堂闭店科技有限公司", ADDR.format(70), "黄伟", "存续"],
            [uscc(78), "南宁天堂早已吊销商贸有限公司", ADDR.format(78), "陆明", "吊销"]]
    batch, _ = await upload(client, region, gb18030_csv(rows), "注销.csv")
    done = await wait_done(client, region, batch)
    assert (done["status"], done["bad_rows"]) == ("done", 0), done  # 注销 is a status
    assert done["outcomes"]["new"] == 0  # closed units are still matched, never new again
    unit = (await client.get(f"/api/v1/registry/units/{u['闭店贸易']}", headers=region)).json()
    assert (unit["closed"], unit["status"]) == (True, "6"), (done, unit)
    closed = [e for e in unit["history"] if e["type"] == "registry.unit.closed"]
    assert len(closed) == 1 and closed[0]["source"]["kind"] == "department_file"
    assert closed[0]["source"]["batch_id"] == batch and closed[0]["reason"] == "当年注销"
    assert await _open_tasks(client, region, u["闭店贸易"]) == []
    # a closed unit is not opened again by a file saying 存续
    again = (await client.get(f"/api/v1/registry/units/{u['闭店科技']}", headers=region)).json()
    assert (again["closed"], again["status"]) == (True, "6")
    assert [e["type"] for e in again["history"]].count("registry.unit.changed") == 0
