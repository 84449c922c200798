"""The 改革工作 console page in Debian's Chromium against the whole system (browser): the region
sees the reform across Guangxi and drills down to a county's townships; the county fills and
submits a progress report in the form."""
from __future__ import annotations

import asyncio

import pytest

from gx_devstack.demo import load_demo
from tests.browser.chromium import launch, missing_reason
from tests.browser.support import open_as, shot

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.async_api").expect


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


async def test_region_drills_down_and_county_submits(stack, browser):
    summary = await asyncio.to_thread(load_demo, stack.gateway_url)
    assert summary["ok"], summary["warnings"]
    ctx, page = await open_as(browser, stack.gateway_url, "qu_tongji", path="/#/organisation")
    try:
        table = page.locator("#org-table")
        await expect(table).to_contain_text("百色市")
        await expect(page.locator("#org-reform")).to_contain_text("桂统字〔2019〕52号")
        baise = table.locator("tr", has_text="百色市")
        await expect(baise).to_contain_text("8 个县")
        await table.get_by_role("link", name="南宁市").click()
        await expect(page.locator("h1")).to_contain_text("南宁市")
        await expect(table.locator("tr", has_text="青秀区")).to_contain_text("市选取试点")
        await table.get_by_role("link", name="青秀区").click()
        await expect(table).to_contain_text("长塘镇")
        await shot(page, "organisation-region.png")
        assert not page.errors, page.errors
    finally:
        await ctx.close()
    ctx, page = await open_as(browser, stack.gateway_url, "qingxiu_qu", path="/#/organisation")
    try:
        staff = page.locator("#org-staff")
        await expect(page.locator("#org-people")).to_contain_text("黄春兰")
        await expect(staff).to_contain_text("加挂：长塘镇党政综合办公室")
        await page.select_option("#p-role", "village_coordinator")
        await page.fill("#p-division", "450103103204")
        await page.select_option("#p-mode", "part_time")
        await page.fill("#p-start", "2019-07-01")
        await page.click("#p-add")  # no name: the error names the field, in Chinese
        await expect(staff.locator(".alert.error")).to_contain_text("person_name")
        await page.fill("#p-name", "覃美玲")
        await page.click("#p-add")
        await expect(page.locator("#org-people")).to_contain_text("覃美玲")
        reports = page.locator("#org-reports")
        await expect(reports).to_contain_text("2019-09-15 前报送")
        await reports.locator("li", has_text="2019-09-15").get_by_role("link").click()
        await page.fill("#sec-progress", "全部乡镇统计工作办公室已挂牌")
        await page.fill("#fig-townships_total", "11")
        await page.click("#submit")
        await expect(page.locator("#report-status")).to_have_text("已报送，审核中")
        await expect(page.locator("body")).to_contain_text("逾期报送")
        await shot(page, "organisation-report.png")
        assert not page.errors, page.errors
    finally:
        await ctx.close()
