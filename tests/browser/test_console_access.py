"""Phone width (360 px) without horizontal scrolling, and the login by keyboard alone."""
from __future__ import annotations

import pytest

expect = pytest.importorskip("playwright.async_api").expect

from gx_contracts.ids import report_id_for

from .support import PHONE, open_as, publish, shot

TIANTANG = "450103103201"
NO_HSCROLL = "document.documentElement.scrollWidth <= document.documentElement.clientWidth"


async def test_form_page_fits_a_360px_phone(stack, api, browser):
    task_id = await publish(api, stack, "450103103000", "手机宽度测试")
    rid = str(report_id_for(task_id, TIANTANG))
    ctx, page = await open_as(browser, stack.gateway_url, "tiantang_cun", viewport=PHONE)
    try:
        assert await page.evaluate(NO_HSCROLL), "task list scrolls sideways"
        await page.click(f'li[data-report="{rid}"] a')
        await expect(page.locator("#report-form")).to_be_visible()
        await page.fill("#v-crop_area", "abc")  # an inline error must not widen the page
        await page.click("#btn-validate")
        await expect(page.locator('.field[data-indicator="crop_area"] .msg.error')).to_be_visible()
        assert await page.evaluate(NO_HSCROLL), "form page scrolls sideways at 360 px"
        for selector in ("#v-crop_area", "#btn-submit"):
            box = await page.locator(selector).bounding_box()
            assert box and box["x"] >= 0 and box["x"] + box["width"] <= 360, (selector, box)
        await shot(page, "10-phone-360-form.png")
        await page.goto(f"/#/progress?task={task_id}")
        await expect(page.locator("#tree-body tr").first).to_be_visible()
        assert await page.evaluate(NO_HSCROLL), "progress page scrolls sideways at 360 px"
        assert not page.errors, page.errors
    finally:
        await ctx.close()


async def test_login_with_the_keyboard_only(stack, browser):
    ctx = await browser.new_context(viewport={"width": 1024, "height": 768}, locale="zh-CN",
                                    base_url=stack.gateway_url)
    page = await ctx.new_page()
    try:
        await page.goto("/")
        await expect(page.locator("#username")).to_be_focused()
        await page.keyboard.type("changtang_zhen")
        await page.keyboard.press("Tab")
        await expect(page.locator("#password")).to_be_focused()
        await page.keyboard.type("wrong-password")
        await page.keyboard.press("Enter")
        await expect(page.locator("[role=alert]")).to_contain_text("用户名或密码错误")
        await expect(page.locator("#password")).to_be_focused()
        await page.keyboard.type("Demo@2026")  # the wrong text is selected: typing replaces it
        await page.keyboard.press("Tab")
        submit = page.locator("form button[type=submit]")
        await expect(submit).to_be_focused()
        # focus is visible (outline from :focus-visible)
        outline = await submit.evaluate("b => getComputedStyle(b).outlineStyle")
        assert outline not in ("none", ""), outline
        await page.keyboard.press("Enter")
        await expect(page.locator("h1")).to_have_text("审核队列")
        await expect(page.locator("h1")).to_be_focused()
        # log out by keyboard as well
        await page.locator("#logout").focus()
        await page.keyboard.press("Enter")
        await expect(page.locator("#username")).to_be_visible()
        await shot(page, "11-keyboard-login.png")
    finally:
        await ctx.close()
