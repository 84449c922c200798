"""附件2 through the gateway on the real PostgreSQL and broker: department files in (CSV in
GB18030, XLSX), bad rows to the error list, re-import a no-op, match outcomes as unit events,
task lists pushed down to the grid, transfer-out and return, jurisdiction."""
from __future__ import annotations

import io

import httpx
import openpyxl
import pytest

from .registry_support import (
    ADDR,
    DINGXI,
    HEADER,
    TIANTANG,
    gb18030_csv,
    upload,
    uscc,
    wait_done,
    xlsx,
)

pytestmark = pytest.mark.e2e

ROWS = [
    [uscc(1), "南宁天堂宏达科技有限公司", ADDR.format(1), "黄伟", "存续"],
    [uscc(2), "南宁天堂恒通贸易有限责任公司", ADDR.format(2), "李芳", "存续"],
    [uscc(3), "广西长塘金瑞建筑工程有限公司", "南宁市青秀区长塘镇建设路3号", "张强", "在业"],
    [uscc(4), "南宁青秀永安物流有限公司", "南宁市青秀区民族大道100号", "刘洋", "存续"],
    [uscc(5)[:17] + ("0" if uscc(5)[17] != "0" else "1"), "校验位错误有限公司", ADDR.format(5),
     "陈静", "存续"],
    ["", "", ADDR.format(6), "杨磊", "存续"],
    [uscc(7), "状态不明有限公司", ADDR.format(7), "赵军", "飞行中"],
]



@pytest.fixture(scope="module")
async def gw(stack):
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=60) as client:
        heads = {u: await stack.login(client, u) for u in (
            "qu_tongji", "qingxiu_qu", "changtang_zhen", "tiantang_cun", "dingxi_cun",
            "tiantang_wangge", "nanning_shi")}
        yield client, heads


async def test_department_files_in_and_task_lists_down(gw, stack):
    client, h = gw
    region = h["qu_tongji"]
    # only the region imports the monthly departments; a county may not
    r = await client.post("/api/v1/registry/imports", headers=h["qingxiu_qu"], json={
        "department": "市场监管", "file_name": "a.csv", "file_bytes": 10})
    assert r.status_code == 403
    r = await client.post("/api/v1/registry/imports", headers=region, json={
        "department": "气象", "file_name": "a.csv", "file_bytes": 10})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "department"

    data = gb18030_csv(ROWS)
    batch, fin = await upload(client, region, data, "市场监管2026-05.csv")
    assert fin["status"] == "processing"
    st = await wait_done(client, region, batch)
    assert st["status"] == "done", st
    assert (st["good_rows"], st["bad_rows"]) == (4, 3)
    assert st["outcomes"]["new"] == 4
    errs = (await client.get(f"/api/v1/registry/imports/{batch}/errors", headers=region)).json()
    by_row = {(e["row_no"], e["field"]): e for e in errs["items"]}
    assert "校验位" in by_row[(6, "统一社会信用代码")]["reason"]
    assert by_row[(7, "单位详细名称")]["code"] == "required"
    assert by_row[(8, "运营状态")]["code"] == "status.unknown"
    dl = await client.get(f"/api/v1/registry/imports/{batch}/errors?format=csv", headers=region)
    assert dl.status_code == 200 and dl.content.startswith("\ufeff行号".encode())
    assert "filename*=UTF-8''" in dl.headers["content-disposition"]
    x = await client.get(f"/api/v1/registry/imports/{batch}/errors?format=xlsx", headers=region)
    ws = openpyxl.load_workbook(io.BytesIO(x.content)).active
    assert [c.value for c in ws[1]] == ["行号", "字段", "错误代码", "原因", "原值"] and ws.max_row == 4

    # the same file again: a no-op (file hash)
    again, fin2 = await upload(client, region, data, "重复.csv")
    assert fin2["status"] == "duplicate" and fin2["duplicate_of"] == batch

    # units as events, with their source
    units = (await client.get("/api/v1/registry/units", headers=region)).json()
    assert units["total"] == 4
    one = next(u for u in units["items"] if u["uscc"] == uscc(1))
    assert one["division_code"] == TIANTANG and one["unit_type"] == "企业"
    detail = (await client.get(f"/api/v1/registry/units/{one['unit_id']}", headers=region)).json()
    assert [e["type"] for e in detail["history"]] == ["registry.unit.registered",
                                                      "registry.unit.classified"]
    src = detail["history"][0]["source"]
    assert src["kind"] == "department_file" and src["row_no"] == 2 and src["batch_id"] == batch
    assert "新增" in detail["history"][0]["explanation"]["text"]

    # XLSX: one changed (legal representative), one repeated, one new; parts of 1 KiB
    rows2 = [[uscc(1), "南宁天堂宏达科技有限公司", ADDR.format(1), "黄小伟", "存续"],
             [uscc(2), "南宁天堂恒通贸易有限责任公司", ADDR.format(2), "李芳", "存续"],
             [uscc(9), "南宁天堂新开张餐饮管理有限公司", ADDR.format(9), "周敏", "存续"]]
    batch2, _ = await upload(client, region, xlsx(rows2), "市场监管2026-06.xlsx", part=1024)
    st2 = await wait_done(client, region, batch2)
    assert st2["outcomes"] == {"unchanged": 1, "changed": 1, "new": 1, "ambiguous": 0}, st2
    detail = (await client.get(f"/api/v1/registry/units/{one['unit_id']}", headers=region)).json()
    changed = detail["history"][-1]
    assert changed["type"] == "registry.unit.changed"
    assert changed["changes"] == {"legal_rep": "黄小伟"} and changed["source"]["row_no"] == 2
    assert detail["legal_rep"] == "黄小伟"

    # task lists: the region holds them; push down to the county, township, village
    lst = (await client.get("/api/v1/registry/tasks", headers=region)).json()
    kinds = sorted(t["kind"] for t in lst["items"])
    assert kinds == ["field_verification"] + ["new_unit_search"] * 5
    r = await client.post("/api/v1/registry/tasks/push-down", headers=region,
                          json={"to_level": "county"})
    assert r.status_code == 200 and r.json()["pushed"] == 6
    county = h["qingxiu_qu"]
    assert (await client.get("/api/v1/registry/tasks", headers=county)).json()["total"] == 6
    r = await client.post("/api/v1/registry/tasks/push-down", headers=county,
                          json={"to_level": "township"})
    assert r.json()["pushed"] == 5 and r.json()["stayed"] == 1  # 民族大道100号: no township
    town = h["changtang_zhen"]
    r = await client.post("/api/v1/registry/tasks/push-down", headers=town,
                          json={"to_level": "village"})
    assert r.json()["pushed"] == 4 and r.json()["stayed"] == 1  # 建设路3号: no village
    vil = (await client.get("/api/v1/registry/tasks", headers=h["tiantang_cun"])).json()
    assert vil["total"] == 4
    assert (await client.get("/api/v1/registry/tasks", headers=h["dingxi_cun"])).json()["total"] == 0
    r = await client.get(f"/api/v1/registry/tasks?holder={TIANTANG}", headers=h["dingxi_cun"])
    assert r.status_code in (403, 404), r.text

    # grids by the coordinator, units handed to the grid worker
    r = await client.post("/api/v1/registry/grids", headers=h["tiantang_cun"], json={
        "village_code": TIANTANG, "name": "第一网格", "worker": "tiantang_wangge"})
    assert r.status_code == 201, r.text
    grid = r.json()
    assert grid["grid_code"] == TIANTANG + "001"
    ids = [t["task_id"] for t in vil["items"][:3]]
    r = await client.post("/api/v1/registry/tasks/assign", headers=h["tiantang_cun"],
                          json={"grid_id": grid["grid_id"], "task_ids": ids})
    assert r.status_code == 200 and r.json()["assigned"] == 3
    mine = (await client.get("/api/v1/registry/tasks", headers=h["tiantang_wangge"])).json()
    assert mine["total"] == 3

    # township: transfer the unplaced one out to another county; it lands in that county's list
    left = (await client.get("/api/v1/registry/tasks", headers=town)).json()["items"][0]
    r = await client.post(f"/api/v1/registry/tasks/{left['task_id']}/transfer-out", headers=town,
                          json={"to_division": "450102101000", "reason": "实地在兴宁区三塘镇"})
    assert r.status_code == 200, r.text
    assert r.json()["holder_code"] == "450102000000"
    assert (await client.get("/api/v1/registry/tasks", headers=town)).json()["total"] == 0
    there = (await client.get("/api/v1/registry/tasks?holder=450102000000",
                              headers=h["nanning_shi"])).json()
    assert [t["task_id"] for t in there["items"]] == [left["task_id"]]
    unit = (await client.get(f"/api/v1/registry/units/{left['unit_id']}", headers=region)).json()
    assert unit["division_code"] == "450102101000"
    assert unit["history"][-1]["type"] == "registry.unit.moved"
    # a county never sees another county's units
    r = await client.get(f"/api/v1/registry/units/{left['unit_id']}", headers=county)
    assert r.status_code == 404

    # county: the one it could not place goes back to the level above, with a reason
    held = (await client.get("/api/v1/registry/tasks", headers=county)).json()["items"]
    assert len(held) == 1
    r = await client.post(f"/api/v1/registry/tasks/{held[0]['task_id']}/return", headers=county,
                          json={"reason": "地址不详，无法下划"})
    assert r.status_code == 200 and r.json()["holder_code"] == "450100000000"
    r = await client.post(f"/api/v1/registry/tasks/{held[0]['task_id']}/return", headers=county,
                          json={"reason": "x"})
    assert r.status_code == 404  # now the city's: outside the county's jurisdiction
    r = await client.post(f"/api/v1/registry/tasks/{held[0]['task_id']}/return", headers=county,
                          json={"reason": "  "})
    assert r.status_code == 422

    # the events reached the broker's topic (relay)
    async with stack_conn(stack) as conn:
        n = await conn.fetchval(f"SELECT count(*) FROM {stack.schema('registry')}.events "
                                f"WHERE type LIKE 'registry.unit.%'")
    assert n >= 12


def stack_conn(stack):
    import contextlib

    import asyncpg

    @contextlib.asynccontextmanager
    async def conn():
        c = await asyncpg.connect(stack.database_url)
        try:
            yield c
        finally:
            await c.close()
    return conn()


async def test_ambiguous_match_goes_to_the_county_reviewer(gw):
    client, h = gw
    region, county = h["qu_tongji"], h["qingxiu_qu"]
    # 宏达's name, address and legal representative, but another USCC: never merged unseen
    row = [uscc(50), "南宁天堂宏达科技有限公司", ADDR.format(1), "黄小伟", "存续"]
    data = ("\ufeff" + ",".join(HEADER) + "\n" + ",".join(row) + "\n").encode()
    batch, _ = await upload(client, region, data, "市场监管2026-07.csv")
    st = await wait_done(client, region, batch)
    assert st["outcomes"]["ambiguous"] == 1, st
    assert (await client.get("/api/v1/registry/reviews", headers=h["tiantang_cun"])).status_code == 403
    items = (await client.get("/api/v1/registry/reviews", headers=county)).json()["items"]
    rv = next(i for i in items if i["batch_id"] == batch)
    assert rv["record"]["uscc"] == uscc(50) and rv["candidates"][0]["uscc"] == uscc(1)
    assert "统一社会信用代码不同" in rv["explanation"]["text"]
    assert rv["explanation"]["fields"]["uscc"]["level"] == "conflict"
    url = f"/api/v1/registry/reviews/{rv['review_id']}/resolve"
    r = await client.post(url, headers=county, json={"decision": "same",
                                                     "unit_id": str(__import__("uuid").uuid4())})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "unit_id"
    r = await client.post(url, headers=county, json={"decision": "new", "reason": "另一家同名单位"})
    assert r.status_code == 200, r.text
    unit = (await client.get(f"/api/v1/registry/units/{r.json()['unit_id']}", headers=county)).json()
    assert unit["uscc"] == uscc(50) and unit["history"][0]["source"]["kind"] == "review"
    assert (await client.post(url, headers=county, json={"decision": "new"})).status_code == 409


async def test_bad_input_names_the_field(gw):
    client, h = gw
    region = h["qu_tongji"]
    for body, field in (({"department": "市场监管", "file_name": "a.txt", "file_bytes": 5}, "file_name"),
                        ({"department": "市场监管", "file_name": "a.csv", "file_bytes": 0}, "file_bytes"),
                        ({"department": "市场监管", "file_name": "a.csv", "file_bytes": 10 ** 10},
                         "file_bytes"),
                        ({"department": "市场监管", "file_name": "a.csv", "file_bytes": 5, "x": 1}, "x")):
        r = await client.post("/api/v1/registry/imports", headers=region, json=body)
        assert r.status_code == 422, (body, r.text)
        assert field in r.text
    r = await client.post("/api/v1/registry/imports", headers=region, json={
        "department": "市场监管", "file_name": "a.csv", "file_bytes": 5})
    bid = r.json()["batch_id"]
    put = f"/api/v1/registry/imports/{bid}/parts/0"
    octet = {**region, "Content-Type": "application/octet-stream"}
    assert (await client.put(put, headers=octet, content=b"123456")).status_code == 413
    assert (await client.post(f"/api/v1/registry/imports/{bid}/finish", headers=region)).status_code == 422
    assert (await client.put(f"/api/v1/registry/imports/{bid}/parts/9", headers=octet,
                             content=b"1")).status_code == 422
    r = await client.post("/api/v1/registry/tasks/push-down", headers=region, json={"to_level": "region"})
    assert r.status_code == 422
    r = await client.post("/api/v1/registry/tasks/push-down", headers=region,
                          json={"to_level": "county", "task_ids": ["x"]})
    assert r.status_code == 422 and "task_ids" in r.text
    r = await client.get("/api/v1/registry/units?division=4501", headers=region)
    assert r.status_code == 422 and "division" in r.text
    r = await client.post("/api/v1/registry/grids", headers=h["tiantang_cun"], json={
        "village_code": DINGXI, "name": "越界网格"})
    assert r.status_code == 403


async def test_exports_of_task_lists_and_the_register(gw):
    client, h = gw
    r = await client.get("/api/v1/registry/tasks/export?format=csv", headers=h["tiantang_cun"])
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    lines = r.content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("任务种类,统一社会信用代码,单位详细名称") and len(lines) == 5
    assert "新增单位查找" in lines[1] and TIANTANG + "001" in r.text  # the grid's code
    r = await client.get(f"/api/v1/registry/units/export?format=xlsx&division={TIANTANG}",
                         headers=h["qingxiu_qu"])
    ws = openpyxl.load_workbook(io.BytesIO(r.content)).active
    assert ws.title == "基本单位名录" and ws.cell(1, 2).value == "单位详细名称"
    assert {ws.cell(i, 6).value for i in range(2, ws.max_row + 1)} == {"法人单位"}
    r = await client.get("/api/v1/registry/units/export?division=450102000000",
                         headers=h["qingxiu_qu"])
    assert r.status_code in (403, 404)


async def test_identifying_answers_are_never_stored_by_a_browser_cache(gw):
    """Unit names can name a person (个体户), forms carry 负责人 and 电话: no-store on each."""
    client, h = gw
    for path, who in [("/tasks", "tiantang_cun"), ("/grids", "tiantang_cun"),
                      ("/tasks/export?format=csv", "tiantang_cun"),
                      (f"/units?division={TIANTANG}", "qingxiu_qu"),
                      (f"/units/export?division={TIANTANG}", "qingxiu_qu"),
                      ("/forms", "tiantang_cun")]:
        r = await client.get("/api/v1/registry" + path, headers=h[who])
        assert r.status_code == 200 and r.headers.get("cache-control") == "no-store", path
    units = (await client.get(f"/api/v1/registry/units?division={TIANTANG}",
                              headers=h["qingxiu_qu"])).json()["items"]
    r = await client.get(f"/api/v1/registry/units/{units[0]['unit_id']}", headers=h["qingxiu_qu"])
    assert r.status_code == 200 and r.headers.get("cache-control") == "no-store"
