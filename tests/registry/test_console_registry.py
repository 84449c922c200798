"""The register in the console (Debian's Chromium): the region uploads a department file and
sees the import finish, pushes the task list down; the coordinator fills the survey form on a
phone with the location button and submits it."""
from __future__ import annotations

import asyncio

import httpx
import pytest

from ..browser.chromium import launch, missing_reason
from ..browser.support import PHONE, open_as, shot
from .registry_support import ADDR, gb18030_csv, uscc

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
async def browser():
    reason = missing_reason()
    if reason:
        pytest.skip(f"browser tests skipped: {reason}")
    from playwright.async_api import async_playwright
    async with async_playwright() as p:
        b = await launch(p)
        try:
            yield b
        finally:
            await b.close()


async def _push(stack):
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=60) as api:
        for who, level in (("qu_tongji", "county"), ("qingxiu_qu", "township"),
                           ("changtang_zhen", "village")):
            h = await stack.login(api, who)
            r = await api.post("/api/v1/registry/tasks/push-down", headers=h,
                               json={"to_level": level})
            assert r.status_code == 200, r.text


async def test_import_in_the_console_then_survey_on_the_phone(stack, browser, tmp_path):
    f = tmp_path / "市场监管2026-05.csv"
    f.write_bytes(gb18030_csv([[uscc(1), "南宁天堂宏达科技有限公司", ADDR.format(1), "黄伟", "存续"],
                               ["12345", "坏代码公司", ADDR.format(2), "李芳", "存续"]]))
    ctx, page = await open_as(browser, stack.gateway_url, "qu_tongji", path="/#/registry?tab=imports")
    try:
        await page.wait_for_selector("#imp-form")
        await page.select_option("#imp-dept", "市场监管")
        await page.set_input_files("#imp-file", str(f))
        await page.click("#imp-form button[type=submit]")
        await page.wait_for_selector("#imp-table td:has-text('已完成')", timeout=60000)
        row = page.locator("#imp-table tbody tr").first
        assert "错误清单 CSV" in await row.inner_text()
        await shot(page, "registry-imports.png")
        await page.goto("/#/registry?tab=tasks")
        await page.wait_for_selector("#task-table tbody tr")
        assert "新增单位查找" in await page.inner_text("#task-table")
        assert not page.errors, page.errors
    finally:
        await ctx.close()
    await _push(stack)

    ctx, page = await open_as(browser, stack.gateway_url, "tiantang_cun", viewport=PHONE,
                              path="/#/registry?tab=tasks")
    try:
        await ctx.grant_permissions(["geolocation"])
        await ctx.set_geolocation({"latitude": 22.75, "longitude": 108.45, "accuracy": 12})
        await page.wait_for_selector("#task-table tbody tr")
        await page.click("#task-table a:has-text('实地调查')")
        await page.wait_for_selector("#unit-form")
        assert await page.input_value("input[name=name]") == "南宁天堂宏达科技有限公司"
        for name, value in (("industry_code", "6510"), ("employees", "8")):
            await page.fill(f"input[name={name}]", value)
        await page.select_option("select[name=institution_type]", "10")
        await page.select_option("select[name=status]", "1")
        await page.click("#loc-btn")
        await page.wait_for_selector("#loc-text:has-text('精度 12 米')")
        await page.click("button:has-text('上报')")
        await page.wait_for_selector("text=已上报（第 1 次）")
        await shot(page, "registry-survey-phone.png")
        assert not page.errors, page.errors
    finally:
        await ctx.close()
    await asyncio.sleep(0)


async def test_confirmation_erroneous_needs_a_reason_and_progress_shows_it(stack, browser):
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=60) as api:
        h = await stack.login(api, "qingxiu_qu")
        r = await api.post("/api/v1/registry/rounds", headers=h, json={
            "period": "2026-Q4", "scope_division": "450103000000", "title": "四季度定期确认"})
        assert r.status_code == 201, r.text
        rid = r.json()["round_id"]
    ctx, page = await open_as(browser, stack.gateway_url, "tiantang_cun", viewport=PHONE,
                              path=f"/#/registry?tab=rounds&round={rid}")
    try:
        await page.wait_for_selector("#confirm-list li")
        item = page.locator("#confirm-list li", has_text="南宁天堂宏达科技有限公司")
        await item.locator("button[data-outcome=erroneous]").click()
        dialog = page.locator("dialog")
        await dialog.locator("button[type=submit]").click()  # no reason: refused, named
        await dialog.locator("text=须填写原因").wait_for()
        await dialog.locator("textarea[name=note]").fill("查无此单位，疑为重复登记")
        await dialog.locator("button[type=submit]").click()
        await item.locator(".tag:has-text('差错')").wait_for()
        assert await page.locator("#found-unit").is_visible()
        assert not page.errors, page.errors
    finally:
        await ctx.close()
    ctx, page = await open_as(browser, stack.gateway_url, "changtang_zhen",
                              path=f"/#/registry?tab=rounds&round={rid}")
    try:
        await page.wait_for_selector("#round-progress tbody tr")
        row = page.locator("#round-progress tbody tr", has_text="天堂村委会")
        cells = await row.locator("td").all_inner_texts()
        assert cells[2] == "1" and cells[5] == "1", cells  # 已确认, 差错
        assert not page.errors, page.errors
    finally:
        await ctx.close()


async def test_the_county_closes_a_unit_with_a_reason(stack, browser):
    ctx, page = await open_as(browser, stack.gateway_url, "qingxiu_qu",
                              path="/#/registry?tab=units&q=宏达科技")
    try:
        row = page.locator("#unit-table tbody tr", has_text="南宁天堂宏达科技有限公司")
        await row.wait_for()
        assert await row.locator("td.state").inner_text() == "在册"
        await row.locator("button:has-text('历史与来源')").click()
        await page.click("#close-unit")
        dialog = page.locator("dialog", has_text="关闭原因")
        await dialog.locator("#close-reason").wait_for()
        await dialog.locator("#close-reason").select_option("other")
        await dialog.locator("button[type=submit]").click()  # 其他 without a note: named
        await dialog.locator("text=须填写说明").wait_for()
        await dialog.locator("#close-reason").select_option("deregistered")
        await dialog.locator("textarea[name=note]").fill("已在市场监管局办理注销")
        await dialog.locator("button[type=submit]").click()
        await row.locator("td.state:has-text('已关闭')").wait_for()
        await row.locator("button:has-text('历史与来源')").click()
        await page.locator("#unit-closed:has-text('已关闭（注销）')").wait_for()
        assert await page.locator("#close-unit").count() == 0  # closed: no action left
        assert "已在市场监管局办理注销" in await page.locator("dialog .timeline").inner_text()
        await shot(page, "registry-unit-closed.png")
        assert not page.errors, page.errors
    finally:
        await ctx.close()
