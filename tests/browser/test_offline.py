"""The offline-first phone in real Chromium, at 1366 px and 360 px: the service worker serves the
app, the task list and the report (with its form) from cache; every keystroke is kept on the
device; a submit made offline waits in the outbox and is sent once when the network returns;
a page closed while its submit was in flight sends it once when reopened."""
from __future__ import annotations

import asyncio

import asyncpg
import pytest

expect = pytest.importorskip("playwright.async_api").expect

from gx_contracts.ids import case_id_for, report_id_for
from gx_contracts.roles import DEMO_PASSWORD

from .support import PHONE, open_as, publish, shot

TIANTANG = "450103103201"
WIDE = {"width": 1366, "height": 900}
SIZES = [pytest.param(WIDE, id="1366"), pytest.param(PHONE, id="360")]
# Plausible values: no rule warns, so the queued submit is accepted when it is finally sent.
VALUES = {"crop_area": 4000, "grain_area": 2600, "early_rice_area": 1200,
          "early_rice_output": 500000, "late_rice_area": 1100, "maize_area": 300,
          "maize_output": 90000}


async def _premise_no_findings(api, stack, rid: str) -> None:
    h = await stack.login(api, "tiantang_cun")
    r = await api.post(f"/api/v1/agri/reports/{rid}/validate", headers=h,
                       json={"values": VALUES, "explanations": {}, "expected_version": 0})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["ok"] and not body["warnings"], body


async def _controlled(page) -> None:
    """The service worker is installed and controls the page (clients.claim)."""
    await page.wait_for_function("navigator.serviceWorker && navigator.serviceWorker.controller !== null")


async def _cached(page, rid: str) -> None:
    await page.wait_for_function("""async (rid) => {
      const c = await caches.open("gx-data-v1");
      return (await c.keys()).some((r) => r.url.includes("/reports/" + rid + "?"));
    }""", arg=rid)


async def _submitted_events(stack, rid: str) -> int:
    conn = await asyncpg.connect(stack.database_url)
    try:
        return await conn.fetchval(
            f"SELECT count(*) FROM {stack.schema('agri')}.events "
            "WHERE data->>'report_id' = $1 AND type = 'agri.report.submitted'", rid)
    finally:
        await conn.close()


async def _arrived_once(api, stack, task_id: str, rid: str) -> None:
    """One submitted event in agri, one case (first submission) in the township's queue."""
    assert await _submitted_events(stack, rid) == 1
    case_id = str(case_id_for("agri.report", rid))
    h = await stack.login(api, "changtang_zhen")
    mine: list[dict] = []
    for _ in range(80):  # the workflow opens the case from agri's event (async)
        r = await api.get(f"/api/v1/workflow/queue?task_id={task_id}&limit=200", headers=h)
        assert r.status_code == 200, r.text
        mine = [c for c in r.json()["items"] if c["case_id"] == case_id]
        if mine:
            break
        await asyncio.sleep(0.25)
    assert len(mine) == 1 and mine[0]["revision"] == 1, mine


async def _log_in(page) -> None:
    await page.goto("/")
    await page.fill("#username", "tiantang_cun")
    await page.fill("#password", DEMO_PASSWORD)
    await page.click("form button[type=submit]")
    await page.wait_for_selector("#top:not([hidden])")


@pytest.mark.parametrize("size", SIZES)
async def test_offline_fill_submit_reload_and_send_once(stack, api, browser, size):
    tag = size["width"]
    task_id = await publish(api, stack, "450103000000", f"离线测试 {tag}")
    rid = str(report_id_for(task_id, TIANTANG))
    await _premise_no_findings(api, stack, rid)
    ctx, page = await open_as(browser, stack.gateway_url, "tiantang_cun", viewport=size)
    dialogs: list[str] = []

    async def on_dialog(d):
        dialogs.append(d.type)
        await d.accept()
    page.on("dialog", on_dialog)
    try:
        await _controlled(page)
        await page.reload()  # now through the worker: the tasks page fetches the open reports
        await expect(page.locator(f'li[data-report="{rid}"]')).to_be_visible()
        await _cached(page, rid)

        await ctx.set_offline(True)
        await expect(page.locator("#net")).to_be_visible()
        await page.click(f'li[data-report="{rid}"] a')
        await expect(page.locator("#report-form")).to_be_visible()
        await expect(page.locator("#cached-note")).to_contain_text("离线")
        for code, value in list(VALUES.items())[:4]:
            await page.fill(f"#v-{code}", str(value))
        # Reload offline with unsaved edits: the browser warns, the app and the values come back.
        await page.reload()
        await expect(page.locator("#restored-note")).to_contain_text("已恢复本机保存")
        assert "beforeunload" in dialogs, dialogs
        assert await page.input_value("#v-early_rice_area") == "1200"
        for code, value in VALUES.items():
            await page.fill(f"#v-{code}", str(value))
        await shot(page, f"offline-01-filled-{tag}.png")
        await page.click("#btn-submit")
        await expect(page.locator("#queued-note")).to_contain_text("待发送")
        await shot(page, f"offline-02-queued-{tag}.png")

        # Reload offline: the app, the queued entry and its values are there.
        await page.reload()
        await expect(page.locator("#queued-note")).to_contain_text("待发送")
        assert await page.input_value("#v-maize_output") == "90000"
        await page.goto("/#/tasks")
        item = page.locator(f'#outbox-list li[data-report="{rid}"]')
        await expect(item).to_contain_text("待发送")
        await shot(page, f"offline-03-outbox-{tag}.png")
        assert await _submitted_events(stack, rid) == 0

        # Back online: sent by itself, exactly once.
        await ctx.set_offline(False)
        await expect(page.locator("#net")).to_be_hidden()
        await expect(item).to_contain_text("已提交", timeout=20000)
        await shot(page, f"offline-04-sent-{tag}.png")
        await _arrived_once(api, stack, task_id, rid)
        h = await stack.login(api, "tiantang_cun")
        report = (await api.get(f"/api/v1/agri/reports/{rid}", headers=h)).json()
        assert report["status"] == "submitted" and report["values"]["maize_output"] == 90000
        assert not page.errors, page.errors
    finally:
        await ctx.close()


@pytest.mark.parametrize("size", SIZES)
async def test_page_closed_mid_send_sends_once_when_reopened(stack, api, browser, size):
    tag = size["width"]
    task_id = await publish(api, stack, "450103000000", f"中断测试 {tag}")
    rid = str(report_id_for(task_id, TIANTANG))
    await _premise_no_findings(api, stack, rid)
    ctx, page = await open_as(browser, stack.gateway_url, "tiantang_cun", viewport=size,
                              path=f"/#/report/{rid}")
    reached = asyncio.Event()

    async def swallow_answer(route):
        """The submit reaches the server, but its answer never reaches the page."""
        try:
            await route.fetch()
        finally:
            reached.set()
        await asyncio.sleep(3600)
    try:
        await _controlled(page)
        await page.route("**/api/v1/agri/reports/*/submit", swallow_answer)
        await expect(page.locator("#report-form")).to_be_visible()
        for code, value in VALUES.items():
            await page.fill(f"#v-{code}", str(value))
        await page.click("#btn-submit")
        await asyncio.wait_for(reached.wait(), 20)
        await expect(page.locator("#btn-submit")).to_be_disabled()
        await expect(page.locator("#queued-note")).to_contain_text("发送中")
        state = await page.evaluate("""async (rid) => {
          const db = await new Promise((ok, no) => { const r = indexedDB.open("gx-offline");
            r.onsuccess = () => ok(r.result); r.onerror = () => no(r.error); });
          const all = await new Promise((ok) => {
            const g = db.transaction("outbox").objectStore("outbox").getAll();
            g.onsuccess = () => ok(g.result); });
          return all.filter((x) => x.reportId === rid).map((x) => x.state);
        }""", rid)
        assert state == ["sending"], state  # on the device, with its keys, while in flight
        await shot(page, f"offline-05-in-flight-{tag}.png")
        assert await _submitted_events(stack, rid) == 1  # the server did it; the page never knew
        await page.close()

        page = await ctx.new_page()  # a new tab: log in again, the outbox is on the device
        page.errors = []
        page.on("pageerror", lambda e: page.errors.append(str(e)))
        await _log_in(page)
        await page.goto("/#/tasks")
        item = page.locator(f'#outbox-list li[data-report="{rid}"]')
        await expect(item).to_contain_text("已提交", timeout=20000)
        await shot(page, f"offline-06-reopened-sent-{tag}.png")
        await _arrived_once(api, stack, task_id, rid)
        assert not page.errors, page.errors
    finally:
        await ctx.close()


async def test_refused_submit_is_a_final_failure_with_its_reason(stack, api, browser):
    """Queued offline with an unexplained warning: once online the service refuses it (4xx) —
    shown as 失败（reason）, not retried, nothing submitted; the entry is kept for correcting."""
    task_id = await publish(api, stack, "450103000000", "离线测试：被拒绝")
    rid = str(report_id_for(task_id, TIANTANG))
    ctx, page = await open_as(browser, stack.gateway_url, "tiantang_cun", viewport=PHONE,
                              path=f"/#/report/{rid}")
    try:
        await _controlled(page)
        await expect(page.locator("#report-form")).to_be_visible()
        await ctx.set_offline(True)
        for code, value in {**VALUES, "early_rice_output": 900000}.items():  # 750 kg/亩 warns
            await page.fill(f"#v-{code}", str(value))
        await page.click("#btn-submit")
        await expect(page.locator("#queued-note")).to_contain_text("待发送")
        await page.goto("/#/tasks")
        item = page.locator(f'#outbox-list li[data-report="{rid}"]')
        await ctx.set_offline(False)
        await expect(item).to_have_attribute("data-state", "failed", timeout=20000)
        await expect(item).to_contain_text("失败（")
        await expect(item).to_contain_text("不能提交")
        await shot(page, "offline-07-refused-360.png")
        assert await _submitted_events(stack, rid) == 0
        # the report opens editable with the values kept and the reason on top
        await item.locator("a", has_text="打开修改").click()
        await expect(page.locator("#outbox-state")).to_contain_text("失败")
        assert await page.input_value("#v-early_rice_output") == "900000"
        await expect(page.locator("#btn-submit")).to_be_enabled()
        assert not page.errors, page.errors
    finally:
        await ctx.close()
