"""The population console in Debian's Chromium (phone size): a certified enumerator registers a
household on the phone, reads it back, records the respondent's confirmation and hands it in;
the coordinator re-checks it; the region reads the access log."""
import httpx
import pytest
from pop_support import AREA1, CHILD_ID, CHILD_NAME, HEAD_ID, HEAD_NAME, certify, post, setup_year

from tests.browser.chromium import launch, missing_reason
from tests.browser.support import PHONE, open_as, shot

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


async def _fill_person(page, i, values):
    box = page.locator("#pop-persons fieldset.person").nth(i)
    for name, v in values.items():
        field = box.locator(f"[name={name}]")
        if await field.evaluate("e => e.tagName") == "SELECT":
            await field.select_option(v)
        else:
            await field.fill(v)


async def test_phone_registration_with_read_back(pop, browser):
    async with httpx.AsyncClient(base_url=pop.gateway_url, timeout=30) as c:
        region = await pop.login(c, "qu_tongji")
        areas = await setup_year(c, region)
        await certify(c, await pop.login(c, "tiantang_wangge"))
        await post(c, f"/api/v1/population/areas/{areas[AREA1]}/assignments",
                   await pop.login(c, "tiantang_cun"), {"username": "tiantang_wangge"})
    ctx, page = await open_as(browser, pop.gateway_url, "tiantang_wangge", PHONE, "#/population")
    await page.click("text=天堂村第一调查小区")
    await page.click("text=登记新住户")
    hh = page.locator("#pop-hh")
    await page.wait_for_selector("#pop-hh [name=household_no]")
    for name, v in {"household_no": "001", "persons_at_reference": "2", "births_male": "0",
                    "births_female": "0", "deaths_male": "0", "deaths_female": "0"}.items():
        await hh.locator(f"[name={name}]").fill(v)
    await hh.locator("[name=household_type]").select_option("1")
    common = {"ethnicity": "08", "registration_place": "1", "left_registration_time": "1"}
    await _fill_person(page, 0, {"name": HEAD_NAME, "relationship": "0", "sex": "1",
                                 "birth_year_month": "1981-03", "id_number": HEAD_ID,
                                 "education": "4", **common})
    await page.click("text=增加一人")
    await _fill_person(page, 1, {"name": CHILD_NAME, "relationship": "2", "sex": "2",
                                 "birth_year_month": "2012-07", "id_number": CHILD_ID,
                                 "education": "3", **common})
    await page.click("button:has-text('保存')")
    await page.wait_for_selector("#pop-readback pre")
    text = await page.inner_text("#pop-readback pre")
    assert HEAD_NAME in text and "壮族" in text and "1981年3月" in text
    await shot(page, "population-readback-phone.png")
    await page.click("text=记录确认")  # not ticked yet: asks for the confirmation first
    assert await page.locator("#pop-readback button:has-text('交表')").is_disabled()
    await page.check("#pop-rb-ok")
    await page.click("text=记录确认")
    await page.wait_for_selector("#pop-readback button:has-text('交表'):not([disabled])")
    await page.click("#pop-readback button:has-text('交表')")
    await page.wait_for_selector("text=已交表，待村级复核")
    body = await page.inner_text("#pop-persons-table")
    assert HEAD_NAME in body and HEAD_ID not in body and HEAD_ID[-4:] in body  # masked
    # codes shown as the form's words (与户主关系, 性别, 民族), the code in the tooltip
    assert all(w in body for w in ("户主", "子女", "男", "女", "壮族")), body
    assert "08" not in body.replace(HEAD_ID[-4:], "").replace(CHILD_ID[-4:], "")
    assert await page.get_attribute("#pop-persons-table td:has-text('壮族') >> nth=0",
                                    "title") == "代码 08"
    assert page.errors == []
    await ctx.close()

    ctx, page = await open_as(browser, pop.gateway_url, "tiantang_cun", PHONE, "#/population")
    await page.click("text=天堂村第一调查小区")
    await page.click("#pop-households a")
    await page.click("text=复核通过，报乡镇")
    await page.click("dialog button[type=submit]")
    await page.wait_for_selector("text=审核中")
    assert page.errors == []
    await ctx.close()

    ctx, page = await open_as(browser, pop.gateway_url, "qu_tongji", path="#/population/audit")
    await page.wait_for_selector("#pop-audit tbody tr")
    rows = await page.inner_text("#pop-audit")
    assert "查看个人表" in rows and "网格员" in rows
    await shot(page, "population-audit.png")
    assert page.errors == []
    await ctx.close()
