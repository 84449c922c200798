"""The console's area page in Debian's Chromium: the coordinator uploads the area map (shown
back from the service), a refused file is named in Chinese, and a correction of the verified
area is sent up the chain (its status and what it changes shown; the area unchanged)."""
import httpx
import pytest
from pop_support import AREA1, post, setup_year
from test_area_corrections_http import png
from test_console_population import browser  # noqa: F401 - the module's Chromium fixture

from tests.browser.support import DESKTOP, open_as, shot

pytestmark = pytest.mark.browser


async def test_area_page_map_and_correction(pop, browser, tmp_path):  # noqa: F811
    async with httpx.AsyncClient(base_url=pop.gateway_url, timeout=30) as c:
        region = await pop.login(c, "qu_tongji")
        coord = await pop.login(c, "tiantang_cun")
        areas = await setup_year(c, region)
        r = await post(c, f"/api/v1/population/areas/{areas[AREA1]}/verification", coord, {
            "boundary": "东至村道", "buildings": ["1号楼"], "name": "天堂村第一调查小区",
            "urban_rural_code": "220"})
        assert r.status_code == 200, r.text
    good, bad = tmp_path / "map.png", tmp_path / "map.gif"
    good.write_bytes(png(30, 20))
    bad.write_bytes(b"GIF89a" + b"\x00" * 40)
    ctx, page = await open_as(browser, pop.gateway_url, "tiantang_cun", DESKTOP,
                              f"#/population/area/{areas[AREA1]}")
    await page.wait_for_selector("#pop-map-box")
    assert "尚未上传小区图" in await page.inner_text("#pop-map-box")
    await page.set_input_files("#pop-map-file", str(bad))
    await page.click("#pop-map-upload")
    await page.wait_for_selector("#pop-map-box :text('PNG 或 JPEG')")
    await page.set_input_files("#pop-map-file", str(good))
    await page.click("#pop-map-upload")
    await page.wait_for_selector("#pop-map[src^='blob:']")
    width = await page.eval_on_selector("#pop-map", "img => img.naturalWidth")
    assert width == 30
    assert "30×20" in await page.inner_text("#pop-map-box")
    # a correction: sent up for approval, the area as it was until accepted
    await page.click("#pop-correct")
    await page.fill("dialog input[maxlength='100']", "天堂村第一小区")
    await page.click("dialog button[type=submit]")
    await page.wait_for_selector("#pop-correction :text('审批中')")
    text = await page.inner_text("#pop-correction")
    assert "小区名称" in text and "天堂村第一小区" in text
    assert await page.locator("#pop-correct").is_disabled()
    assert (await page.inner_text("h1")) == "天堂村第一调查小区"
    await shot(page, "population-area-correction.png")
    assert page.errors == []
    await ctx.close()
