"""Issue 13 §2: drafts count as 未报 and are shown separately (其中草稿) on the progress page,
KPIs and table, at 1366 and 360 px. Workflow never sees drafts (it is domain-free); the
console takes the draft counts from the task's own service (agri's /monitor)."""
from __future__ import annotations

import uuid

import pytest

expect = pytest.importorskip("playwright.async_api").expect

from gx_contracts.ids import report_id_for

from .support import PHONE, open_as, publish, shot

WIDE = {"width": 1366, "height": 900}
TOWNSHIP, TIANTANG = "450103103000", "450103103201"
DRAFT = {"crop_area": 4000, "grain_area": 2600}


@pytest.fixture(scope="module")
async def drafted(stack, api):
    task_id = await publish(api, stack, "450103000000", "草稿进度")
    village = await stack.login(api, "tiantang_cun")
    rid = str(report_id_for(task_id, TIANTANG))
    report = (await api.get(f"/api/v1/agri/reports/{rid}", headers=village)).json()
    r = await api.put(f"/api/v1/agri/reports/{rid}/draft",
                      headers={**village, "Idempotency-Key": uuid.uuid4().hex},
                      json={"values": DRAFT, "expected_version": report["version"]})
    assert r.status_code == 200, r.text
    return task_id


@pytest.mark.parametrize("size", ["1366", "360"])
async def test_drafts_are_shown_apart_and_counted_in_not_reported(stack, browser, drafted, size):
    ctx, page = await open_as(browser, stack.gateway_url, "qingxiu_qu",
                              viewport=WIDE if size == "1366" else PHONE,
                              path=f"/#/progress?task={drafted}")
    try:
        row = page.locator(f'#tree-body tr[data-code="{TOWNSHIP}"]')
        await expect(row.locator('td[data-col="draft"]')).to_have_text("1")
        not_started = int(await row.locator('td[data-col="not_started"]').inner_text())
        assert not_started >= 1  # the draft is still 未报
        await expect(page.locator('#kpis [data-kpi="draft"] b')).to_have_text("1")
        await expect(page.locator("#basis")).to_contain_text("其中草稿另列")
        total = page.locator('#tree-body tr[data-code="total"] td[data-col="draft"]')
        await expect(total).to_have_text("1")
        if size == "360":
            assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        await shot(page, f"progress-drafts-{size}.png")
        assert not page.errors, page.errors
    finally:
        await ctx.close()
