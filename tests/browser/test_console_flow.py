"""The console in real Chromium: fill → submit → live queue → return with a note → correct →
resubmit → township (conflict on a stale page), county, region → the progress page updates live."""
from __future__ import annotations

import asyncio
import re

import pytest

expect = pytest.importorskip("playwright.async_api").expect

from gx_contracts.ids import case_id_for, report_id_for

from .support import DESKTOP, PHONE, open_as, publish, shot

TIANTANG = "450103103201"
NANNING = "450100000000"
VALUES = {"crop_area": 4000, "grain_area": 2600, "early_rice_area": 1200,
          "early_rice_output": 900000, "late_rice_area": 1100, "maize_area": 300,
          "maize_output": 90000}  # early rice yield 750 kg/亩: a warning to explain


async def _cell(page, code: str, col: str) -> str:
    return (await page.locator(f'#tree-body tr[data-code="{code}"] td[data-col="{col}"]')
            .inner_text()).strip()


async def test_report_climbs_the_chain_in_the_browser(stack, api, browser):
    task_id = await publish(api, stack, "450103000000", "浏览器测试：早稻")
    rid = str(report_id_for(task_id, TIANTANG))
    case_id = str(case_id_for("agri.report", rid))
    contexts = []
    try:
        # The region watches progress, the township watches its queue: both before the submit.
        ctx, progress = await open_as(browser, stack.gateway_url, "qu_tongji",
                                      path=f"/#/progress?task={task_id}")
        contexts.append(ctx)
        await expect(progress.locator(f'#tree-body tr[data-code="{NANNING}"]')).to_be_visible()
        assert await _cell(progress, NANNING, "submitted") == "0"
        await progress.evaluate("window.__sameDocument = 1")

        ctx, township = await open_as(browser, stack.gateway_url, "changtang_zhen")
        contexts.append(ctx)
        await expect(township.locator("#queue-summary")).to_contain_text("共 0 件")
        await township.evaluate("window.__sameDocument = 1")

        # The coordinator fills the report on a phone-sized screen.
        ctx, phone = await open_as(browser, stack.gateway_url, "tiantang_cun", viewport=PHONE)
        contexts.append(ctx)
        await phone.click(f'li[data-report="{rid}"] a')
        await expect(phone.locator("#report-form")).to_be_visible()
        for code, value in VALUES.items():
            await phone.fill(f"#v-{code}", str(value))
        await phone.click("#btn-validate")
        warning = phone.locator('.field[data-indicator="early_rice_output"] .msg.warning')
        await expect(warning).to_contain_text("警告")
        await expect(phone.locator("#validate-result")).to_contain_text("需修改或说明")
        await shot(phone, "01-coordinator-warning.png")
        # Submitting without an explanation is refused, next to the field.
        await phone.click("#btn-submit")
        await expect(phone.locator("#report-page .alert.error")).to_contain_text("不能提交")
        await expect(phone.locator('.field[data-indicator="early_rice_output"]')).to_have_class(
            re.compile("has-warning"))
        await phone.fill("#x-early_rice_output", "今年推广超级稻，单产大幅提高")
        await phone.click("#btn-submit")
        await expect(phone.locator("#submit-result")).to_contain_text("已提交")
        await expect(phone.locator("#report-status")).to_have_class(re.compile(r"\bsubmitted\b"))
        await shot(phone, "02-coordinator-submitted.png")

        # The township's queue shows the case without a reload.
        row = township.locator(f'li[data-case="{case_id}"]')
        await expect(row).to_be_visible(timeout=20000)
        await expect(row.locator(".tag.new")).to_be_visible()
        assert await township.evaluate("window.__sameDocument") == 1
        await shot(township, "03-township-queue-live.png")
        # …and the region's progress page counted it, live.
        await expect(progress.locator(
            f'#tree-body tr[data-code="{NANNING}"] td[data-col="submitted"]')).to_have_text("1")
        # 应报 follows the task's scope (青秀区, 119 villages): only 南宁市 is listed, then 合计
        await expect(progress.locator("#tree-body tr")).to_have_count(2)
        assert await _cell(progress, NANNING, "expected") == "119"
        assert await _cell(progress, NANNING, "not_started") == "118"
        await expect(progress.locator("#basis")).to_contain_text("已报 = 审核中")
        assert await progress.evaluate("window.__sameDocument") == 1

        # The township opens it: values, the warning with its explanation, the timeline.
        await row.locator("a").click()
        await expect(township.locator("#case-status")).to_contain_text("审核中")
        await expect(township.locator('tr[data-indicator="early_rice_output"]')).to_contain_text(
            "超级稻")
        await expect(township.locator(".timeline")).to_contain_text("报送")
        # The return dialog: Escape closes it (focus goes back), then return with a field note.
        await township.click("#btn-return")
        dialog = township.locator("dialog[open]")
        await expect(dialog).to_be_visible()
        await expect(township.locator("#return-code")).to_be_focused()
        await township.keyboard.press("Escape")
        await expect(dialog).to_have_count(0)
        await expect(township.locator("#btn-return")).to_be_focused()
        await township.keyboard.press("Enter")
        await township.select_option("#return-code", "R01")
        await township.fill("#return-text", "总播种面积与分项合计不符，请核实")
        await township.fill("#note-crop_area", "请核实：总播种面积应为各作物之和")
        await shot(township, "04-township-return-dialog.png")
        await dialog.locator("button[type=submit]").click()
        await expect(township.locator("#case-status")).to_contain_text("已退回")
        await expect(township.locator(".timeline")).to_contain_text("总播种面积与分项合计不符")

        # The coordinator sees the reason and the note next to the field, corrects, resubmits.
        await phone.goto("/#/tasks")
        for _ in range(60):  # agri learns of the return from the workflow's event (async)
            await phone.reload()
            tag = phone.locator(f'li[data-report="{rid}"] .tag.returned')
            if await tag.count():
                break
            await asyncio.sleep(0.25)
        await phone.click(f'li[data-report="{rid}"] a')
        await expect(phone.locator("#return-reason")).to_contain_text("数据填报错误")
        note = phone.locator('.field[data-indicator="crop_area"] .note')
        await expect(note).to_contain_text("总播种面积应为各作物之和")
        await shot(phone, "05-coordinator-returned-note.png")
        await phone.fill("#v-crop_area", "4100")
        await phone.click("#btn-submit")
        await expect(phone.locator("#submit-result")).to_contain_text("第 2 次报送")

        # Back in the queue (no reload) it arrives again; the township opens it …
        await township.goto("/#/queue")
        await township.evaluate("window.__sameDocument = 2")
        await expect(township.locator(f'li[data-case="{case_id}"]')).to_contain_text("第 2 次报送")
        await township.locator(f'li[data-case="{case_id}"] a').click()
        await expect(township.locator("#btn-approve")).to_be_visible()
        # … but someone else at the township approves first: the page shows a clear conflict.
        h = await stack.login(api, "changtang_zhen")
        case = (await api.get(f"/api/v1/workflow/cases/{case_id}", headers=h)).json()
        r = await api.post(f"/api/v1/workflow/cases/{case_id}/approve", headers=h,
                           json={"expected_version": case["version"], "comment": "同意"})
        assert r.status_code == 200, r.text
        await township.click("#btn-approve")
        await township.locator("dialog[open] button[type=submit]").click()
        await expect(township.locator("dialog[open]")).to_contain_text("已被他人处理")
        await shot(township, "06-township-conflict.png")
        await township.locator("dialog[open] button", has_text="重新加载").click()
        await expect(township.locator("#btn-approve")).to_have_count(0)
        await expect(township.locator(".timeline")).to_contain_text("报送县（区）")

        # The county approves in the browser.
        ctx, county = await open_as(browser, stack.gateway_url, "qingxiu_qu")
        contexts.append(ctx)
        await county.locator(f'li[data-case="{case_id}"] a').click()
        await county.click("#btn-approve")
        await county.locator("dialog[open] button[type=submit]").click()
        await expect(county.locator("#case-flash")).to_contain_text("报送自治区")

        # The region accepts over the API; its progress page (still the same document) updates.
        h = await stack.login(api, "qu_tongji")
        case = (await api.get(f"/api/v1/workflow/cases/{case_id}", headers=h)).json()
        assert case["level"] == "region", case
        r = await api.post(f"/api/v1/workflow/cases/{case_id}/accept", headers=h,
                           json={"expected_version": case["version"]})
        assert r.status_code == 200, r.text
        await expect(progress.locator(
            f'#tree-body tr[data-code="{NANNING}"] td[data-col="accepted"]')).to_have_text("1")
        assert await progress.evaluate("window.__sameDocument") == 1
        await expect(progress.locator("#chart canvas")).to_have_count(1)
        await shot(progress, "07-region-progress.png")
        for page in (progress, township, phone, county):
            assert not page.errors, page.errors
    finally:
        for ctx in contexts:
            await ctx.close()


async def test_progress_drills_down_to_villages(stack, api, browser):
    task_id = await publish(api, stack, "450103000000", "浏览器测试：下钻")
    ctx, page = await open_as(browser, stack.gateway_url, "qingxiu_qu", viewport=DESKTOP,
                              path=f"/#/progress?task={task_id}")
    try:
        await expect(page.locator("h1")).to_contain_text("青秀区")
        await page.locator('#tree-body tr[data-code="450103103000"] button').click()
        await expect(page.locator("h1")).to_contain_text("长塘镇")
        await expect(page.locator(f'#tree-body tr[data-code="{TIANTANG}"]')).to_be_visible()
        await expect(page.locator("#tree-h")).to_contain_text("村")
        # the breadcrumb leads back up, by keyboard
        crumb = page.locator(".crumbs button", has_text="青秀区")
        await crumb.focus()
        await page.keyboard.press("Enter")
        await expect(page.locator("h1")).to_contain_text("青秀区")
        assert not page.errors, page.errors
    finally:
        await ctx.close()
