"""Small things a person sees (issue 13 §6), in real Chromium: no logout link on the login page;
a compact phone header; the phone's progress table shows 已验收/超期 without sideways scrolling;
提交 sits at the right, reachable at the bottom; one bullet per field note; the certificate page
does not claim a certificate is required when the gateway does not require one."""
from __future__ import annotations

import pytest

expect = pytest.importorskip("playwright.async_api").expect

from gx_contracts.ids import report_id_for

from .support import DESKTOP, PHONE, open_as, publish, shot

TIANTANG = "450103103201"


@pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["1280", "360"])
async def test_login_page_has_no_logout(browser, stack, size):
    ctx = await browser.new_context(viewport=size, locale="zh-CN", base_url=stack.gateway_url)
    try:
        page = await ctx.new_page()
        await page.goto("/")
        await expect(page.locator("#username")).to_be_visible()
        await expect(page.locator("#logout")).to_be_hidden()
        await expect(page.locator("#top")).to_be_hidden()
        await shot(page, f"layout-01-login-{size['width']}.png")
    finally:
        await ctx.close()


@pytest.mark.parametrize("username", ["tiantang_cun", "qu_tongji"])
async def test_phone_header_is_compact(stack, browser, username):
    ctx, page = await open_as(browser, stack.gateway_url, username, viewport=PHONE)
    try:
        box = await page.locator("#top").bounding_box()
        assert box["height"] <= 0.10 * PHONE["height"], box
        await expect(page.locator("#logout")).to_be_visible()
        assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    finally:
        await ctx.close()


async def test_phone_progress_shows_accepted_and_late(stack, api, browser):
    task_id = await publish(api, stack, "450103000000", "手机进度表")
    ctx, page = await open_as(browser, stack.gateway_url, "qingxiu_qu", viewport=PHONE,
                              path=f"/#/progress?task={task_id}")
    try:
        row = page.locator('#tree-body tr[data-code="450103103000"]')
        await expect(row).to_be_visible()
        for col in ("accepted", "late"):
            cell = row.locator(f'td[data-col="{col}"]')
            await expect(cell).to_be_visible()
            # one call: the live page may redraw its rows between two
            left, right = await cell.evaluate(
                "e => { const r = e.getBoundingClientRect(); return [r.left, r.right]; }")
            assert left >= 0 and right <= PHONE["width"], (col, left, right)
        await expect(row.locator('td[data-col="accepted"]')).to_be_visible()
        assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        await shot(page, "layout-02-phone-progress.png")
    finally:
        await ctx.close()


async def test_phone_submit_at_the_bottom_right(stack, api, browser):
    task_id = await publish(api, stack, "450103000000", "手机提交按钮")
    rid = str(report_id_for(task_id, TIANTANG))
    ctx, page = await open_as(browser, stack.gateway_url, "tiantang_cun", viewport=PHONE,
                              path=f"/#/report/{rid}")
    try:
        submit = page.locator("#btn-submit")
        await expect(submit).to_be_visible()
        box = await submit.bounding_box()  # sticky: on screen without scrolling to the end
        assert box["y"] + box["height"] <= PHONE["height"], box
        assert box["x"] + box["width"] >= PHONE["width"] - 40, box  # at the right edge
        others = [await page.locator(s).bounding_box() for s in ("#btn-save", "#btn-validate")]
        assert all(o["x"] < box["x"] for o in others), (others, box)
    finally:
        await ctx.close()


async def test_field_notes_have_one_bullet(stack, browser):
    ctx, page = await open_as(browser, stack.gateway_url, "changtang_zhen")
    try:
        styles = await page.evaluate("""() => {
          const ol = document.createElement("ol"); ol.className = "timeline";
          ol.innerHTML = "<li><div>退回修改</div><ul><li>总播种面积：请核实</li></ul></li>";
          document.getElementById("main").append(ol);
          const step = ol.firstElementChild, note = ol.querySelector("ul li");
          const out = { step: getComputedStyle(step, "::before").content,
                        note: getComputedStyle(note, "::before").content,
                        marker: getComputedStyle(note).listStyleType };
          ol.remove();
          return out;
        }""")
        assert styles["step"] not in ("none", "normal"), styles  # the timeline dot
        assert styles["note"] in ("none", "normal"), styles  # no second dot on a note
        assert styles["marker"] == "disc", styles
    finally:
        await ctx.close()


async def test_certificate_page_says_not_required(stack, browser):
    """make run's default: GX_DEVICE_REQUIRED off (meta.json says so)."""
    ctx, page = await open_as(browser, stack.gateway_url, "tiantang_cun", viewport=PHONE,
                              path="/#/devices")
    try:
        notice = page.locator("#device-notice")
        await expect(notice).to_contain_text("不要求安全证书")
        await expect(notice).not_to_contain_text("须使用已登记的安全证书")
        await shot(page, "layout-03-certificate-not-required.png")
    finally:
        await ctx.close()
