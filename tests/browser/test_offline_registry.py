"""The registry's field survey (基本单位情况表) offline on the phone, in real Chromium (1366 px and
360 px): a grid worker opens a task's survey from the cached task list with no network, the phone
checks the hard rules from the published form definition, takes the location fix, keeps the draft
and the queued submit encrypted in IndexedDB (no unit name, legal representative or phone in
plaintext), the task list says 本机待上传 n 份 and marks the task, and back online the form is
opened, saved and submitted exactly once, carrying the fix's own time (not the hand-in time); the
device's copy of the survey is then gone. A survey the
server refuses (422: a registration-authority code the phone's rules do not know) keeps its draft
with the server's Chinese reason; corrected, it lands once on the form the refusal left open.
The task list and grids the phone keeps for offline use are sealed in IndexedDB under the account's
key, never plaintext in Cache Storage. A form opened offline whose server copy was saved meanwhile
by another session is a conflict: nothing is overwritten until the worker keeps theirs."""
from __future__ import annotations

import asyncio
import json
import time
import warnings
from datetime import datetime

import asyncpg
import httpx
import pytest

expect = pytest.importorskip("playwright.async_api").expect

from gx_registry.domain.codes import make_uscc  # noqa: E402
from tests.registry.registry_support import ADDR, gb18030_csv, upload, uscc, wait_done  # noqa: E402

from .chromium import artifact  # noqa: E402
from .support import PHONE, open_as, shot  # noqa: E402
from .test_offline_population import DUMP  # noqa: E402

WIDE = {"width": 1366, "height": 900}
UNITS = {1366: ("南宁天堂云帆电子商务有限公司", 31), 360: ("南宁天堂禾丰农资经营部有限公司", 32),
         "refused": ("南宁天堂晨星物流有限公司", 33), "conflict": ("南宁天堂青禾餐饮有限公司", 34),
         "theirs": ("南宁天堂木棉文具店有限公司", 35)}
LEGAL_REP, PHONE_NO = "韦秀梅", "0771-5551234"
OTHER_REP = "黄振宁"  # what another session saved on the server meanwhile
GRID_NAME = "天堂一组"
VILLAGE = "450103103201"
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
            "village_code": VILLAGE, "name": GRID_NAME, "worker": "tiantang_wangge"})
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


async def _quietly(step):
    """A diagnostic's result, or what stopped it (a diagnostic never replaces the failure)."""
    try:
        return await step
    except Exception as e:  # noqa: BLE001
        return f"<{type(e).__name__}: {e}>"


async def _offline_at_task(ctx, page, name: str) -> None:
    """Online once: the task list (and, warmed by the service worker, the form definition) cached;
    then offline, a fresh page from the cache, and the task's survey opened from the list.

    CI has, about once in four full runs, found this device's sealed task list and its key both
    gone after the offline reload (answers [] keys [] in a database still at version 4), though
    the list was sealed just before and nothing in the console deletes both; never reproduced
    here (90 runs of this step alone and beside the other browser files). Such a loss is taken
    once, with everything the device shows written into the run's warnings: the step is tried
    again from online. A second loss fails the test."""
    await ctx.grant_permissions(["geolocation"])
    await ctx.set_geolocation(FIX)
    await ctx.add_init_script(DELETE_LOG)
    await page.wait_for_function("navigator.serviceWorker && navigator.serviceWorker.controller !== null")
    for attempt in (1, 2):
        await page.reload()
        await page.wait_for_selector(f"#task-table tr:has-text('{name}')")
        await page.wait_for_function(SEALED_LIST)
        before = await _quietly(page.evaluate(OFFLINE_STATE))
        await ctx.set_offline(True)
        await page.reload()
        try:
            await page.click(f"#task-table tr:has-text('{name}') a:has-text('实地调查')")
            break
        except Exception as e:  # what the offline page showed instead, for the CI log
            await _quietly(shot(page, f"offline-failed-{name}-{attempt}.png"))
            text = str(await _quietly(page.evaluate("document.body.innerText")))
            local = await _quietly(page.evaluate(OFFLINE_STATE))
            workers = [await _quietly(w.evaluate(OFFLINE_STATE)) for w in ctx.service_workers]
            problem = (f"offline task list without {name}'s survey link: {text[:600]!r}; this "
                       f"device's sealed copies and keys online just before: {before}; after the "
                       f"offline reload: {local}; as the service worker sees them: {workers}")
            if attempt == 2:
                raise AssertionError(problem) from e
            artifact(f"offline-lost-{name}.txt").write_text(problem, encoding="utf-8")
            warnings.warn(f"tried again from online: {problem}", stacklevel=1)
            await ctx.set_offline(False)
    await page.wait_for_selector("#unit-form")
    await expect(page.locator("#reg-status")).to_contain_text("离线")
    assert await page.input_value("input[name=name]") == name  # prefilled from the cached list


# The task list kept sealed (sw.js → IndexedDB answers) and the form definition warmed (plain cache)
SEALED_LIST = """async () => {
  const db = await new Promise((ok, no) => { const r = indexedDB.open("gx-offline");
    r.onsuccess = () => ok(r.result); r.onerror = () => no(r.error); });
  const answers = db.objectStoreNames.contains("answers") ? await new Promise((ok) => {
    const g = db.transaction("answers").objectStore("answers").getAll(); g.onsuccess = () => ok(g.result); }) : [];
  db.close();
  const keys = (await (await caches.open("gx-data-v1")).keys()).map((r) => r.url);
  return answers.some((a) => a.path.startsWith("/api/v1/registry/tasks?") && a.sealed && a.sealed.data) &&
         keys.some((u) => u.includes("/registry/forms/definition"));
}"""

# What the service worker answers offline from (for a failure's message): each sealed answer's
# account, path and times, each account's key and when it was made, and whether the page's
# token names the same account
OFFLINE_STATE = """async () => {
  const db = await new Promise((ok, no) => { const r = indexedDB.open("gx-offline");
    r.onsuccess = () => ok(r.result); r.onerror = () => no(r.error); });
  const all = (name) => db.objectStoreNames.contains(name) ? new Promise((ok) => {
    const g = db.transaction(name).objectStore(name).getAll(); g.onsuccess = () => ok(g.result); }) : [];
  const answers = (await all("answers")).map((a) => [a.username, a.path, a.fetchedAt, a.savedAt]);
  const keys = (await all("vault")).map((k) => [k.username, k.createdAt]);
  const stores = {};
  for (const name of db.objectStoreNames) stores[name] = (await all(name)).length;
  const version = db.version;
  db.close();
  const cached = {};
  for (const name of await caches.keys()) cached[name] = (await (await caches.open(name)).keys()).length;
  const page = typeof localStorage !== "undefined";
  return JSON.stringify({ answers, keys, version, stores, cached,
                          estimate: navigator.storage ? await navigator.storage.estimate() : null,
                          controlled: page ? !!navigator.serviceWorker.controller : "worker",
                          online: navigator.onLine, now: new Date().toISOString(),
                          deletes: page ? JSON.parse(localStorage.getItem("gx-test-log") || "[]") : null });
}"""

# Every page of the context logs (to localStorage, which outlives a reload) each IndexedDB delete or
# clear and each database deletion, with who called it, and each page load: a failure above names them
DELETE_LOG = """(() => {
  const log = (what) => { try {
    const all = JSON.parse(localStorage.getItem("gx-test-log") || "[]");
    all.push([new Date().toISOString(), what, (new Error().stack || "").split("\\n").slice(2, 6).join(" | ")]);
    localStorage.setItem("gx-test-log", JSON.stringify(all.slice(-40)));
  } catch (e) { /* not a page */ } };
  const del = IDBObjectStore.prototype.delete, clear = IDBObjectStore.prototype.clear;
  IDBObjectStore.prototype.delete = function (key) {
    log(`delete ${this.name} ${String(key).slice(0, 60)}`); return del.call(this, key); };
  IDBObjectStore.prototype.clear = function () { log(`clear ${this.name}`); return clear.call(this); };
  const drop = IDBFactory.prototype.deleteDatabase;
  IDBFactory.prototype.deleteDatabase = function (name) {
    log(`deleteDatabase ${name}`); return drop.call(this, name); };
  log(`load ${location.href}`);
})()"""

# Every Cache Storage entry of the data cache: its address and its body as text
CACHES = """async () => {
  const out = [];
  for (const name of await caches.keys()) {
    if (name.startsWith("gx-shell-")) continue;  // the app's own static files
    const c = await caches.open(name);
    for (const req of await c.keys()) out.push([req.url, await (await c.match(req)).text()]);
  }
  return out;
}"""


async def _fill(page) -> None:
    for field, value in (("legal_rep", LEGAL_REP), ("phone", PHONE_NO), ("industry_code", "5191"),
                         ("employees", "9")):
        await page.fill(f"input[name={field}]", value)
    await page.select_option("select[name=institution_type]", "10")
    await page.select_option("select[name=status]", "1")


async def _no_plaintext(page, *, expect_key: bool | None = None) -> str:
    dump = await page.evaluate(DUMP)
    cached = json.dumps(await page.evaluate(CACHES), ensure_ascii=False)
    for secret in [*(n for n, _ in UNITS.values()), LEGAL_REP, PHONE_NO, OTHER_REP, "天堂云帆", "韦秀", GRID_NAME]:
        assert secret not in dump, secret
        assert secret not in cached, secret
    assert "/registry/tasks" not in cached and "/registry/grids" not in cached, cached[:300]
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
        for _ in range(40):  # the device forgets the unit's survey: no ciphertext left of it, no draft
            stores = json.loads(await _no_plaintext(page))
            if not any("sealed" in x for x in stores["outbox"]):
                break
            await asyncio.sleep(0.25)
        assert not any("sealed" in x for x in stores["outbox"]) and stores["regdrafts"] == [], stores
        # the key stays only for the sealed task list (bounded; gone on logout, see below)
        assert stores["answers"] and stores["vault"], stores
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


async def test_task_list_kept_offline_only_sealed(stack, tasks, browser):
    """The village coordinator's task list and grids, visited online then offline: the list still
    shows (from the sealed copy), and neither Cache Storage nor IndexedDB holds a unit name, USCC,
    address or grid name in plaintext; an older worker's plaintext copy is dropped; logging out
    forgets the copy and, with nothing else sealed, the key."""
    name = UNITS[1366][0]
    ctx, page = await open_as(browser, stack.gateway_url, "tiantang_cun", WIDE, "/#/registry?tab=tasks")
    try:
        await page.wait_for_function("navigator.serviceWorker && navigator.serviceWorker.controller !== null")
        await page.reload()
        await page.wait_for_selector(f"#task-table tr:has-text('{name}')")
        await page.wait_for_function(SEALED_LIST)
        await page.wait_for_function("""async () => {  // the grids too (the coordinator's page reads them)
          const r = indexedDB.open("gx-offline"); await new Promise((ok) => { r.onsuccess = ok; });
          const g = r.result.transaction("answers").objectStore("answers").getAll();
          await new Promise((ok) => { g.onsuccess = ok; }); r.result.close();
          return g.result.some((a) => a.path.startsWith("/api/v1/registry/grids"));
        }""")
        await ctx.set_offline(True)
        for size, tag in ((WIDE, 1366), (PHONE, 360)):
            await page.set_viewport_size(size)
            await page.reload()
            await expect(page.locator("#registry-tasks p.muted").first).to_contain_text("离线：本机缓存的底册")
            row = page.locator(f"#task-table tr:has-text('{name}')")
            await expect(row).to_contain_text(uscc(UNITS[1366][1]))
            await expect(row).to_contain_text(VILLAGE + "001")  # the grid's code, from the sealed grids
            await shot(page, f"registry-offline-sealed-list-{tag}.png")
        stores = json.loads(await _no_plaintext(page, expect_key=True))
        paths = {a["path"].split("?")[0] for a in stores["answers"]}
        assert paths >= {"/api/v1/registry/tasks", "/api/v1/registry/grids"}, paths
        assert not any(uscc(n) in json.dumps(stores) for _, n in UNITS.values())

        # logout (app.js calls this; patch console-b-1): the copy is forgotten, the key shredded
        await page.evaluate("""async () => {
          const m = await import("/console/outbox_sealed.js"); await m.forgetAnswers("tiantang_cun"); }""")
        stores = json.loads(await page.evaluate(DUMP))
        assert stores["answers"] == [] and stores["vault"] == [], stores
        await page.reload()  # no copy left: offline, the list is a network error, not stale data
        await expect(page.locator("#task-table")).to_have_count(0)
        assert not page.errors, page.errors
    finally:
        await ctx.close()


async def _saved_elsewhere(stack, task_id: str) -> int:
    """The same worker on another device opens the task's form and saves a draft: its version."""
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=30) as c:
        h = await stack.login(c, "tiantang_wangge")
        r = await c.post("/api/v1/registry/forms", headers=h, json={"village_code": VILLAGE, "task_id": task_id})
        assert r.status_code in (200, 201), r.text
        form = r.json()
        r = await c.put(f"/api/v1/registry/forms/{form['form_id']}/draft", headers=h, json={
            "values": {**form["values"], "legal_rep": OTHER_REP}, "explanations": {}, "location": None,
            "expected_version": form["version"]})
        assert r.status_code == 200, r.text
        return int(r.json()["version"])


async def _queued_offline(ctx, page, name: str) -> None:
    await _offline_at_task(ctx, page, name)
    await _fill(page)
    await page.click("#loc-btn")
    await expect(page.locator("#loc-text")).to_contain_text("精度 12 米")
    await page.click("button:has-text('上报')")
    await expect(page.locator("#reg-sync")).to_contain_text("待上传")


async def test_server_draft_saved_meanwhile_is_a_conflict_not_overwritten(stack, tasks, browser):
    """The phone opens a task's form offline and hands it in; meanwhile the same worker on another
    device saves a draft on the server. Back online the phone does not save over it: the item stays
    on its draft as a conflict naming the server's version; 保留我的 then lands once on that version."""
    name, _ = UNITS["conflict"]
    ctx, page = await open_as(browser, stack.gateway_url, "tiantang_wangge", PHONE, "/#/registry?tab=tasks")
    try:
        await _queued_offline(ctx, page, name)
        server_version = await _saved_elsewhere(stack, tasks[name])
        assert server_version == 2

        await ctx.set_offline(False)
        sync = page.locator("#reg-sync .alert")
        await expect(sync).to_have_attribute("data-state", "failed", timeout=20000)
        await expect(sync).to_contain_text(f"服务器上已有他人保存的情况表（版本 {server_version}），请核对后再提交")
        await expect(page.locator("#reg-conflict")).to_be_visible()
        events = await _events(stack, tasks[name])
        assert _count(events) == {"registry.unit_form.opened": 1, "registry.unit_form.draft_saved": 1}
        last = next(e for e in reversed(events) if e["type"].endswith("draft_saved"))
        data = json.loads(last["data"]) if isinstance(last["data"], str) else last["data"]
        assert data["values"]["legal_rep"] == OTHER_REP  # nothing overwritten
        assert await page.input_value("input[name=legal_rep]") == LEGAL_REP  # the phone's entries kept
        await _no_plaintext(page, expect_key=True)
        await page.reload()  # the conflict stays on the draft
        await expect(page.locator("#reg-conflict")).to_be_visible()
        for size, tag in ((PHONE, 360), (WIDE, 1366)):
            await page.set_viewport_size(size)
            await shot(page, f"registry-offline-conflict-{tag}.png")
        await page.click("button:has-text('保存')")  # an online save neither overwrites
        await asyncio.sleep(0.5)
        assert _count(await _events(stack, tasks[name])).get("registry.unit_form.draft_saved") == 1

        await page.click("#reg-keep")
        await expect(page.locator("#reg-done")).to_contain_text("已上报（第 1 次）", timeout=20000)
        await shot(page, "registry-offline-conflict-resolved-1366.png")
        events = await _events(stack, tasks[name])
        assert _count(events) == {"registry.unit_form.opened": 1, "registry.unit_form.draft_saved": 2,
                                  "registry.unit_form.submitted": 1}, _count(events)
        last = next(e for e in reversed(events) if e["type"].endswith("draft_saved"))
        data = json.loads(last["data"]) if isinstance(last["data"], str) else last["data"]
        assert data["values"]["legal_rep"] == LEGAL_REP
        assert not page.errors, page.errors
    finally:
        await ctx.close()


async def test_conflict_resolved_by_taking_the_servers_form(stack, tasks, browser):
    """以服务器上的为准: the phone's copy (item and draft) goes, the server's form opens with the
    other session's entries, and nothing the phone typed reached the server."""
    name, _ = UNITS["theirs"]
    ctx, page = await open_as(browser, stack.gateway_url, "tiantang_wangge", PHONE, "/#/registry?tab=tasks")
    try:
        await _queued_offline(ctx, page, name)
        await _saved_elsewhere(stack, tasks[name])
        await ctx.set_offline(False)
        await expect(page.locator("#reg-conflict")).to_be_visible(timeout=20000)
        await page.click("#reg-take")
        await expect(page.locator("input[name=legal_rep]")).to_have_value(OTHER_REP)
        await expect(page.locator("#reg-conflict")).to_have_count(0)
        stores = json.loads(await _no_plaintext(page))
        assert stores["regdrafts"] == [] and not [x for x in stores["outbox"] if x.get("taskId") == tasks[name]]
        events = await _events(stack, tasks[name])
        assert _count(events) == {"registry.unit_form.opened": 1, "registry.unit_form.draft_saved": 1}
        assert not page.errors, page.errors
    finally:
        await ctx.close()
