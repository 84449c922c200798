"""Validation while typing, in real Chromium at 1366 px and 360 px: the rules run as a field loses
focus; a hard error offers no explanation box; the blocking error is listed first when a submit
is refused; a warning that goes away takes its explanation with it (it is not submitted)."""
from __future__ import annotations

import pytest

expect = pytest.importorskip("playwright.async_api").expect

from gx_contracts.ids import report_id_for

from .support import PHONE, open_as, publish, shot

TIANTANG = "450103103201"
SIZES = [pytest.param({"width": 1366, "height": 900}, id="1366"), pytest.param(PHONE, id="360")]
OUTPUT = '.field[data-indicator="early_rice_output"]'
# early rice on 1200 亩: 900 t = 750 kg/亩 warns; 2000 t = 1667 kg/亩 is impossible (error)
WARN, IMPOSSIBLE, PLAUSIBLE = "900000", "2000000", "500000"


async def _set(page, code: str, value: str) -> None:
    await page.fill(f"#v-{code}", value)
    await page.press(f"#v-{code}", "Tab")  # loses focus: the rules run


@pytest.mark.parametrize("size", SIZES)
async def test_rules_run_on_blur_and_stale_explanations_go(stack, api, browser, size):
    tag = size["width"]
    task_id = await publish(api, stack, "450103000000", f"即时校验 {tag}")
    rid = str(report_id_for(task_id, TIANTANG))
    ctx, page = await open_as(browser, stack.gateway_url, "tiantang_cun", viewport=size,
                              path=f"/#/report/{rid}")
    try:
        await expect(page.locator("#report-form")).to_be_visible()
        for code, value in (("crop_area", "4000"), ("grain_area", "2600"),
                            ("early_rice_area", "1200"), ("maize_area", "300"),
                            ("maize_output", "90000"), ("late_rice_area", "1100")):
            await _set(page, code, value)
        await _set(page, "early_rice_output", WARN)
        # the warning and its explanation box, without pressing 校验; untouched fields stay quiet
        await expect(page.locator(f"{OUTPUT} .msg.warning")).to_contain_text("警告")
        await expect(page.locator("#x-early_rice_output")).to_be_visible()
        await expect(page.locator(".field.has-error")).to_have_count(0)
        assert await page.locator("#validate-result").count() == 0

        # an impossible value: a hard error, and no explanation box is offered
        await _set(page, "early_rice_output", IMPOSSIBLE)
        await expect(page.locator(f"{OUTPUT} .msg.error")).to_contain_text("错误")
        await expect(page.locator("#x-early_rice_output")).to_have_count(0)
        await expect(page.locator(f"{OUTPUT} .msg.warning")).to_have_count(0)  # the error alone
        await shot(page, f"validate-01-hard-error-{tag}.png")
        # the refused submit lists the blocking error first
        await page.click("#btn-submit")
        banner = page.locator("#report-page .alert.error").first
        await expect(banner).to_contain_text("不能提交")
        first = (await banner.locator("li").first.inner_text()).strip()
        assert first.startswith("错误"), first
        await shot(page, f"validate-02-submit-refused-{tag}.png")

        # back to a warning: explained; then corrected: the warning and its explanation go
        await _set(page, "early_rice_output", WARN)
        await page.fill("#x-early_rice_output", "今年推广超级稻")
        await _set(page, "early_rice_output", PLAUSIBLE)
        await expect(page.locator(f"{OUTPUT} .msg.warning")).to_have_count(0)
        await expect(page.locator("#x-early_rice_output")).to_have_count(0)
        await page.click("#btn-submit")
        await expect(page.locator("#submit-result")).to_contain_text("已提交")
        await shot(page, f"validate-03-submitted-{tag}.png")
        h = await stack.login(api, "tiantang_cun")
        report = (await api.get(f"/api/v1/agri/reports/{rid}", headers=h)).json()
        assert report["status"] == "submitted", report["status"]
        assert "early_rice_output" not in (report["explanations"] or {}), report["explanations"]
        assert not page.errors, page.errors
    finally:
        await ctx.close()
