"""Issue 13 §3 in the console: what people read on the history, case and report pages carries
no internal identifiers — no user UUIDs or usernames, no indicator codes (`grain_area：…`), no
English status words, no case version numbers, no doubled header — at 1366 and 360 px.

The data is `make run`'s demo (loaded through the gateway), then the 附件3 chain to the end for
two reports: one early-accepted by the township (已验收), one confirmed by the region (已确认).
"""
from __future__ import annotations

import asyncio
import contextlib
import re
import uuid

import pytest

expect = pytest.importorskip("playwright.async_api").expect

from gx_contracts.roles import DEMO_USERS

from gx_devstack.demo import EXTRA_COORDINATORS, load_demo

from .support import PHONE, open_as, shot

WIDE = {"width": 1366, "height": 900}
SIZES = {"1366": WIDE, "360": PHONE}
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)
CODE_LABEL = re.compile(r"\b[a-z][a-z0-9]*_[a-z0-9_]+\s*[：:]")  # grain_area：…
ENGLISH_STATUS = re.compile(r"\b(not_started|draft|submitted|in_review|returned|accepted|"
                            r"confirmed|approved|opened)\b", re.I)
PERSON_NAMES = {u["username"]: u["name_zh"] for u in DEMO_USERS}
USERNAMES = [u["username"] for u in DEMO_USERS] + [u["username"] for u in EXTRA_COORDINATORS]


def problems(text: str) -> list[str]:
    found = [f"UUID {m}" for m in UUID.findall(text)]
    found += [f"indicator code {m}" for m in CODE_LABEL.findall(text)]
    found += [f"English status {m}" for m in ENGLISH_STATUS.findall(text)]
    found += [f"username {u}" for u in USERNAMES if re.search(rf"\b{u}\b", text)]
    found += ["version number"] if re.search(r"版本\s*\d", text) else []
    return found


@pytest.fixture(scope="module")
async def world(stack, api):
    summary = await asyncio.to_thread(load_demo, stack.gateway_url)
    assert summary["ok"], summary["warnings"]
    reports = summary["reports"]
    town, region = (await stack.login(api, "changtang_zhen"), await stack.login(api, "qu_tongji"))

    async def act(auth, case_id, action, **body):
        case = (await api.get(f"/api/v1/workflow/cases/{case_id}", headers=auth)).json()
        r = await api.post(f"/api/v1/workflow/cases/{case_id}/{action}",
                           headers={**auth, "Idempotency-Key": uuid.uuid4().hex},
                           json={"expected_version": case["version"], **body})
        assert r.status_code == 200, r.text

    async def status_of(rid, want):
        for _ in range(150):
            r = (await api.get(f"/api/v1/agri/reports/{rid}", headers=town)).json()
            if r["status"] == want:
                return r
            await asyncio.sleep(0.1)
        raise AssertionError(f"report {rid} never became {want}")

    confirmed = reports["A301/tiantang_cun"]  # at the region after township and county
    await act(region, confirmed["case_id"], "accept", comment="审核确认")
    early = reports["A301/nazeng_cun"]  # in the township's queue: 数据验收
    await act(town, early["case_id"], "accept", comment="数据无误，验收")
    await status_of(confirmed["report_id"], "confirmed")
    await status_of(early["report_id"], "accepted")
    return {"confirmed": confirmed, "accepted": early, "returned": reports["A301/fengmu_cun"]}


@contextlib.asynccontextmanager
async def _page(stack, browser, who: str, size: str, path: str):
    ctx, page = await open_as(browser, stack.gateway_url, who, viewport=SIZES[size], path=path)
    try:
        yield page
    finally:
        await ctx.close()


async def _check(page, name: str) -> None:
    await shot(page, name)
    text = await page.locator("body").inner_text()
    assert not problems(text), f"{name}: {problems(text)}\n{text}"
    assert not page.errors, page.errors


async def _header(page) -> str:
    who = (await page.locator("#who").inner_text()).strip()
    m = re.fullmatch(r"(.+)（(.+)）", who)
    assert not (m and m.group(1) == m.group(2)), f"doubled header: {who}"
    return who


@pytest.mark.parametrize("size", SIZES)
async def test_case_pages_name_people_and_indicators_in_chinese(stack, browser, world, size):
    cases = [("changtang_zhen", "returned", "已退回"), ("qu_tongji", "confirmed", "已确认"),
             ("qu_tongji", "accepted", "审核中")]
    for who, which, tag in cases:
        async with _page(stack, browser, who, size, f"/#/case/{world[which]['case_id']}") as page:
            await expect(page.locator("ol.timeline")).to_be_visible()
            await expect(page.locator("#case-status")).to_contain_text(tag)
            timeline = page.locator("ol.timeline")
            await expect(timeline).to_contain_text("村级统计协管员 · 天堂村委会"
                                                   if which == "confirmed" else "村级统计协管员")
            await expect(timeline).to_contain_text("乡镇统计员 · 长塘镇")
            if which == "returned":  # the township's per-field note, under the indicator's name
                await expect(timeline).to_contain_text("早稻产量：请核实早稻产量")
            # people by their 姓名, with role and division (issue 13 §3)
            await expect(timeline).to_contain_text(f"{PERSON_NAMES['changtang_zhen']}（乡镇统计员 · 长塘镇）")
            if which == "confirmed":
                await expect(timeline).to_contain_text("韦秀梅（自治区统计局 · 广西壮族自治区）")
                await expect(timeline).to_contain_text("黄春兰（村级统计协管员 · 天堂村委会）")
            if which == "accepted":  # 附件3: the township's 数据验收 waits for the region
                await expect(page.locator("#case-early")).to_have_text("乡镇已数据验收，待自治区确认")
            header = await _header(page)
            assert header == ("韦秀梅（自治区统计局）" if who == "qu_tongji" else "陆建国（乡镇统计员）")
            await _check(page, f"names-case-{which}-{size}.png")


@pytest.mark.parametrize("size", SIZES)
async def test_report_pages_and_their_history_in_chinese(stack, browser, world, size):
    pages = [("tiantang_cun", "confirmed", "已确认"), ("nazeng_cun", "accepted", "已验收"),
             ("fengmu_cun", "returned", "退回")]
    for who, which, status in pages:
        async with _page(stack, browser, who, size, f"/#/report/{world[which]['report_id']}") as page:
            await expect(page.locator("#report-status")).to_contain_text(status)
            await page.locator("details.card > summary", has_text="处理记录").click()
            timeline = page.locator("details.card ol.timeline")
            await expect(timeline).to_be_visible()
            await expect(timeline).to_contain_text("陆建国（乡镇统计员 · 长塘镇）")
            if which == "returned":
                await expect(timeline).to_contain_text("早稻产量：请核实早稻产量")
                await expect(page.locator("#btn-archive-pdf")).to_have_count(0)  # not printable
            await _header(page)
            await _check(page, f"names-report-{which}-{size}.png")


async def _downloads_pdf(page) -> str:
    async with page.expect_download() as info:
        await page.locator("#btn-archive-pdf").click()
    download = await info.value
    with open(await download.path(), "rb") as f:
        assert f.read(5) == b"%PDF-"
    return download.suggested_filename


@pytest.mark.parametrize("size", SIZES)
async def test_the_village_archive_pdf_downloads_from_report_and_case_pages(stack, browser,
                                                                             world, size):
    rid, cid = world["confirmed"]["report_id"], world["confirmed"]["case_id"]
    async with _page(stack, browser, "tiantang_cun", size, f"/#/report/{rid}") as page:
        await expect(page.locator("#btn-archive-pdf")).to_have_text("下载归档 PDF")
        name = await _downloads_pdf(page)
        assert name.endswith(".pdf") and re.search(r"[\u4e00-\u9fff]", name), name
        assert not page.errors, page.errors
    async with _page(stack, browser, "qu_tongji", size, f"/#/case/{cid}") as page:
        await expect(page.locator("ol.timeline")).to_be_visible()
        await _downloads_pdf(page)
        assert not page.errors, page.errors


def test_the_checks_catch_what_they_look_for():
    bad = ("2026-12-02 08:03 · d2866c3e-5bf3-4012-b100-1a224cd9774b（村级统计协管员）\n"
           "grain_area：请核实 · 状态 submitted · tiantang_cun · 版本 3")
    assert len(problems(bad)) == 5
    assert problems("早稻产量：请核实 · 08:03 · 已确认 · 乡镇统计员 · 长塘镇") == []


@pytest.mark.parametrize("size", SIZES)
async def test_queue_and_devices_pages_name_no_login_names(stack, browser, world, size):
    for who, path, ready in (("changtang_zhen", "/#/queue", "#queue-list li"),
                             ("qu_tongji", "/#/queue", "#queue-list li"),
                             ("qingxiu_qu", "/#/devices", "#device-list li")):
        async with _page(stack, browser, who, size, path) as page:
            await expect(page.locator(ready).first).to_be_visible()
            await _header(page)
            await _check(page, f"names-{path.strip('/#')}-{who}-{size}.png")
