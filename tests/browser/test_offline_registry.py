"""The registry's field survey (基本单位情况表) offline on the phone, in real Chromium (1366 px and
360 px): a grid worker opens a task's survey from the cached task list with no network, the phone
checks the hard rules from the published form definition, takes the location fix, keeps the draft
and the queued submit encrypted in IndexedDB (no unit name, legal representative or phone in
plaintext), the task list says 本机待上传 n 份 and marks the task, and back online the form is
opened, saved and submitted exactly once, carrying the fix's own time (not the hand-in time); the
device's copy is then gone with its key. A survey the
server refuses (422: a registration-authority code the phone's rules do not know) keeps its draft
with the server's Chinese reason; corrected, it lands once on the form the refusal left open."""
from __future__ import annotations

import asyncio
import json
import time
from datetime import datetime

import asyncpg
import httpx
import pytest

expect = pytest.importorskip("playwright.async_api").expect

from gx_registry.domain.codes import make_uscc  # noqa: E402
from tests.registry.registry_support import ADDR, gb18030_csv, upload, uscc, wait_done  # noqa: E402

from .support import PHONE, open_as, shot  # noqa: E402
from .test_offline_population import DUMP  # noqa: E402

WIDE = {"width": 1366, "height": 900}
UNITS = {1366: ("南宁天堂云帆电子商务有限公司", 31), 360: ("南宁天堂禾丰农资经营部有限公司", 32),
         "refused": ("南宁天堂晨星物流有限公司", 33)}
LEGAL_REP, PHONE_NO = "韦秀梅", "0771-5551234"
FIX = {"latitude": 22.7901, "longitude": 108.4512, "accuracy": 12}


@pytest.fixture(scope="module")
async def tasks(stack):
    """Three units pushed down to 天堂村 and handed to 卢小燕's grid: name -> task id."""
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=60) as c:
        h = {u: await stack.login(c, u) for u in ("qu_tongji", "qingxiu_qu", "changtang_zhen", "tiantang_cun")}
        rows = [[uscc(n), name, ADDR.format(n), "某某", "存续"] for name, n in UNITS.values()]
        batch, _ = await upload(c, h["qu_tongji"], gb18030_csv(rows), "市场监管-离线.csv")
        assert (await wait_done(c, h["qu_tongji"], batch))["status"] == "done"
        for who, level in (("qu_tongji", "county"), ("qingxiu_qu", "township"), ("changtang_zhen", "village")):
            r = await c.post("/api/v1/registry/tasks/push-down", headers=h[who], json={"to_level": level})
            assert r.status_code == 200, r.text
        r = await c.post("/api/v1/registry/grids", headers=h["tiantang_cun"], json={
            "village_code": "450103103201", "name": "天堂一组", "worker": "tiantang_wangge"})
        assert r.status_code == 201, r.text
        items = (await c.get("/api/v1/registry/tasks", headers=h["tiantang_cun"])).json()["items"]
        ids = {t["name"]: t["task_id"] for t in items}
        r = await c.post("/api/v1/registry/tasks/assign", headers=h["tiantang_cun"], json={
            "grid_id": r.json()["grid_id"], "task_ids": list(ids.values())})
        assert r.status_code == 200, r.text
        return ids


async def _events(stack, task_id: str | None, *, name: str | None = None) -> list[dict]:
    """The events of the task's form (or, with no task, of the form for the unit named)."""
    where, arg = ("f.task_id = $1", task_id) if task_id else ("f.task_id IS NULL AND f.vals->>'name' = $1", name)
    conn = await asyncpg.connect(stack.database_url)
    try:
        s = stack.schema("registry")
        rows = await conn.fetch(
            f"SELECT e.type, e.data, e.recorded_at FROM {s}.events e JOIN {s}.unit_forms f "
            f"ON e.stream_id = 'unitform-' || f.form_id WHERE {where} ORDER BY e.recorded_at", arg)
        return [dict(r) for r in rows]
    finally:
        await conn.close()


def _count(events: list[dict]) -> dict[str, int]:
    """How often the phone's three steps landed (the review chain's own events left out)."""
    out: dict[str, int] = {}
    for e in events:
        if e["type"].rsplit(".", 1)[1] in ("opened", "draft_saved", "submitted"):
            out[e["type"]] = out.get(e["type"], 0) + 1
    return out


async def _offline_at_task(ctx, page, name: str) -> None:
    """Online once: the task list (and, warmed by the service worker, the form definition) cached;
    then offline, a fresh page from the cache, and the task's survey opened from the list."""
    await ctx.grant_permissions(["geolocation"])
    await ctx.set_geolocation(FIX)
    await page.wait_for_function("navigator.serviceWorker && navigator.serviceWorker.controller !== null")
    await page.reload()
    await page.wait_for_selector(f"#task-table tr:has-text('{name}')")
    await page.wait_for_function("""async () => {
      const keys = (await (await caches.open("gx-data-v1")).keys()).map((r) => r.url);
      return keys.some((u) => u.includes("/registry/tasks?")) &&
             keys.some((u) => u.includes("/registry/forms/definition"));
    }""")
    await ctx.set_offline(True)
    await page.reload()
    await page.click(f"#task-table tr:has-text('{name}') a:has-text('实地调查')")
    await page.wait_for_selector("#unit-form")
    await expect(page.locator("#reg-status")).to_contain_text("离线")
    assert await page.input_value("input[name=name]") == name  # prefilled from the cached list


async def _fill(page) -> None:
    for field, value in (("legal_rep", LEGAL_REP), ("phone", PHONE_NO), ("industry_code", "5191"),
                         ("employees", "9")):
        await page.fill(f"input[name={field}]", value)
    await page.select_option("select[name=institution_type]", "10")
    await page.select_option("select[name=status]", "1")


async def _no_plaintext(page, *, expect_key: bool | None = None) -> str:
    dump = await page.evaluate(DUMP)
    for secret in [*(n for n, _ in UNITS.values()), LEGAL_REP, PHONE_NO, "天堂云帆", "韦秀"]:
        assert secret not in dump, secret
    if expect_key is not None:
        assert ('"cryptoKey":false' in dump) == expect_key, dump[:400]
    return dump


@pytest.mark.parametrize("size", [WIDE, PHONE], ids=lambda s: str(s["width"]))
async def test_offline_survey_lands_once_with_the_fix_time(stack, tasks, browser, size):
    tag = size["width"]
    name, _ = UNITS[tag]
    ctx, page = await open_as(browser, stack.gateway_url, "tiantang_wangge", size, "/#/registry?tab=tasks")
    try:
        await _offline_at_task(ctx, page, name)
        await _fill(page)
        await page.fill("input[name=industry_code]", "51")  # a hard rule, checked on the phone
        await page.click("button:has-text('上报')")
        await expect(page.locator("#err-industry_code")).to_contain_text("行业代码（GB/T 4754-2017）格式不正确")
        await expect(page.locator("#err-location")).to_contain_text("未取得地理位置定位")
        await page.fill("input[name=industry_code]", "5191")
        before = time.time()
        await ctx.set_geolocation(FIX)  # Chromium's emulated fix carries the time it was set
        await page.click("#loc-btn")
        await expect(page.locator("#loc-text")).to_contain_text("精度 12 米")
        after = time.time()
        await page.wait_for_function("location.hash.includes('draft=')")
        await asyncio.sleep(0.6)  # the autosave (300 ms)
        await _no_plaintext(page, expect_key=True)
        await page.reload()  # offline reload: the draft comes back, decrypted
        await page.wait_for_selector("#unit-form")
        assert await page.input_value("input[name=legal_rep]") == LEGAL_REP
        await expect(page.locator("#loc-text")).to_contain_text("精度 12 米")
        await page.click("button:has-text('上报')")
        await expect(page.locator("#reg-sync")).to_contain_text("待上传")
        await expect(page.locator("#reg-pending")).to_contain_text("本机待上传 1 份")
        await shot(page, f"registry-offline-queued-{tag}.png")
        await page.goto("/#/registry?tab=tasks")  # the cached task list counts and marks it
        await expect(page.locator("#registry-tasks p.muted").first).to_contain_text("本机待上传 1 份")
        await expect(page.locator(f"#task-table tr:has-text('{name}') .tag")).to_have_text("待上传")
        await shot(page, f"registry-offline-tasklist-{tag}.png")
        await page.goto("/#/tasks")  # the worker's home lists the same outbox
        await expect(page.locator("#outbox-count")).to_have_text("待上传 1 份")
        await expect(page.locator('#outbox-list li[data-kind="registry.unit_form"]')).to_contain_text("待发送")
        await shot(page, f"registry-offline-home-{tag}.png")
        await _no_plaintext(page, expect_key=True)
        assert await _events(stack, tasks[name]) == []  # nothing reached the server

        await asyncio.sleep(max(0.0, after + 2.5 - time.time()))  # the hand-in clearly later than the fix
        await ctx.set_offline(False)
        item = page.locator('#outbox-list li[data-kind="registry.unit_form"]')
        await expect(item).to_have_attribute("data-state", "done", timeout=20000)
        await expect(page.locator("#outbox-count")).to_be_hidden()
        await shot(page, f"registry-offline-sent-{tag}.png")
        events = await _events(stack, tasks[name])
        got = _count(events)
        assert got == {"registry.unit_form.opened": 1, "registry.unit_form.draft_saved": 1,
                       "registry.unit_form.submitted": 1}, got
        saved = next(e for e in events if e["type"].endswith("draft_saved"))
        data = json.loads(saved["data"]) if isinstance(saved["data"], str) else saved["data"]
        assert data["values"]["legal_rep"] == LEGAL_REP and data["values"]["name"] == name
        taken = datetime.fromisoformat(data["location"]["taken_at"].replace("Z", "+00:00")).timestamp()
        assert before - 1 <= taken <= after + 1, (before, taken, after)  # the time of the fix …
        submitted = next(e for e in events if e["type"].endswith("submitted"))["recorded_at"].timestamp()
        assert submitted - taken >= 2, (taken, submitted)  # … not of the hand-in
        assert data["location"]["accuracy_m"] == 12
        for _ in range(40):  # the device forgets the unit's data: no ciphertext, no draft, no key
            dump = await _no_plaintext(page)
            if '"cryptoKey"' not in dump:
                break
            await asyncio.sleep(0.25)
        assert '"sealed"' not in dump and '"cryptoKey"' not in dump, dump[:600]
        assert not page.errors, page.errors
    finally:
        await ctx.close()


async def test_refused_survey_keeps_its_draft_and_the_reason(stack, tasks, browser):
    name, n = UNITS["refused"]
    ctx, page = await open_as(browser, stack.gateway_url, "tiantang_wangge", PHONE, "/#/registry?tab=tasks")
    try:
        await _offline_at_task(ctx, page, name)
        await _fill(page)
        bad = make_uscc("K1", "450103", f"MA5K{n:04d}")  # check digits right, authority K unknown
        await page.fill("input[name=uscc]", bad)
        await page.click("#loc-btn")
        await expect(page.locator("#loc-text")).to_contain_text("精度 12 米")
        await page.click("button:has-text('上报')")
        await expect(page.locator("#reg-sync")).to_contain_text("待上传")
        await ctx.set_offline(False)
        sync = page.locator("#reg-sync .alert")
        await expect(sync).to_have_attribute("data-state", "failed", timeout=20000)
        await expect(sync).to_contain_text("登记管理部门代码“K”不存在")
        await expect(page.locator("#err-uscc")).to_contain_text("登记管理部门代码“K”不存在")
        await expect(page.locator("#reg-pending")).to_contain_text("本机待上传 1 份")
        assert await page.input_value("input[name=legal_rep]") == LEGAL_REP  # the entries are kept
        await shot(page, "registry-offline-refused-360.png")
        await _no_plaintext(page, expect_key=True)
        assert _count(await _events(stack, tasks[name])) == {"registry.unit_form.opened": 1}

        await page.reload()  # the refusal is still on the draft after a reload
        await expect(page.locator("#reg-sync .alert")).to_contain_text("登记管理部门代码“K”不存在")
        await page.fill("input[name=uscc]", uscc(n))
        await page.click("button:has-text('上报')")
        await expect(page.locator("#reg-done")).to_contain_text("已上报（第 1 次）", timeout=20000)
        got = _count(await _events(stack, tasks[name]))
        assert got == {"registry.unit_form.opened": 1, "registry.unit_form.draft_saved": 1,
                       "registry.unit_form.submitted": 1}, got
        assert not page.errors, page.errors
    finally:
        await ctx.close()


async def test_unit_found_on_the_ground_offline_lands_once(stack, tasks, browser):
    """No task: a new unit's form is filled offline, left, found again among the device's drafts,
    submitted; back online one form is opened on the server for it and submitted once."""
    name = "南宁天堂新发现五金店有限公司"
    ctx, page = await open_as(browser, stack.gateway_url, "tiantang_wangge", PHONE, "/#/registry?tab=tasks")
    try:
        await _offline_at_task(ctx, page, UNITS[1366][0])  # caches the list and the definition
        await page.goto("/#/registry?tab=survey")
        await page.wait_for_selector("#unit-form")
        await page.fill("input[name=name]", name)
        await page.fill("input[name=address]", ADDR.format(77))
        await _fill(page)
        await page.click("#loc-btn")
        await expect(page.locator("#loc-text")).to_contain_text("精度 12 米")
        await page.click("button:has-text('上报')")  # no USCC: a soft rule, it needs a word
        await expect(page.locator("#err-uscc")).to_contain_text("警告：未填统一社会信用代码")
        await page.fill("input[name=expl-uscc]", "个体新开，尚未办理登记")
        await page.wait_for_function("location.hash.includes('draft=')")
        await asyncio.sleep(0.6)
        await page.goto("/#/registry?tab=tasks")
        await page.goto("/#/registry?tab=survey")  # a fresh form, the draft listed above it
        drafts = page.locator("#reg-drafts")
        await expect(drafts).to_contain_text("本机未上报的草稿 1 份")
        await expect(drafts).to_contain_text("新发现单位")
        await drafts.locator("a:has-text('继续填写')").click()
        await expect(page.locator("input[name=name]")).to_have_value(name)
        await page.click("button:has-text('上报')")
        await expect(page.locator("#reg-sync")).to_contain_text("待上传")
        await _no_plaintext(page, expect_key=True)
        assert name not in await page.evaluate(DUMP)
        await ctx.set_offline(False)
        await expect(page.locator("#reg-done")).to_contain_text("已上报（第 1 次）", timeout=20000)
        got = _count(await _events(stack, None, name=name))
        assert got == {"registry.unit_form.opened": 1, "registry.unit_form.draft_saved": 1,
                       "registry.unit_form.submitted": 1}, got
        assert not page.errors, page.errors
    finally:
        await ctx.close()
