"""The population survey offline on the phone, in real Chromium (1366 px and 360 px): a grid worker
registers a household with its read-back while offline; drafts and queued submits sit encrypted in
IndexedDB (no name or ID number in plaintext), a reload keeps them; back online the household is
saved, read back and handed in exactly once, and the device's copy of the personal data is gone.
A refusal (uncertified enumerator: 403) stays visible on the right draft, in Chinese, with the
entries kept; once the cause is gone it is resent unchanged and lands once. A change report made
offline lands once."""
from __future__ import annotations

import asyncio
import datetime as dt

import asyncpg
import httpx
import pytest

expect = pytest.importorskip("playwright.async_api").expect

from tests.population.pop_support import (  # noqa: E402
    AREA1,
    CHILD_ID,
    CHILD_NAME,
    HEAD_ID,
    HEAD_NAME,
    certify,
    population_stack,
    post,
    setup_year,
)

from .support import PHONE, open_as  # noqa: E402

WIDE = {"width": 1366, "height": 900}
SHOTS = "/tmp/offline-population"
COMMON = {"ethnicity": "08", "registration_place": "1", "left_registration_time": "1"}
HEAD = {"name": HEAD_NAME, "relationship": "0", "sex": "1", "birth_year_month": "1981-03",
        "id_number": HEAD_ID, "education": "4", **COMMON}
CHILD = {"name": CHILD_NAME, "relationship": "2", "sex": "2", "birth_year_month": "2012-07",
         "id_number": CHILD_ID, "education": "3", **COMMON}
# Everything the page keeps on the device, as text (bytes as hex): searched for plaintext.
DUMP = """async () => {
  const db = await new Promise((ok, no) => { const r = indexedDB.open("gx-offline");
    r.onsuccess = () => ok(r.result); r.onerror = () => no(r.error); });
  const out = {};
  for (const name of db.objectStoreNames) {
    out[name] = await new Promise((ok) => { const g = db.transaction(name).objectStore(name).getAll();
      g.onsuccess = () => ok(g.result); });
  }
  db.close();
  return JSON.stringify(out, (k, v) => v instanceof Uint8Array ? Array.from(v).join(",")
    : (v && v.constructor && v.constructor.name === "CryptoKey") ? {cryptoKey: v.extractable} : v);
}"""


@pytest.fixture(scope="module")
async def pop(infra):
    async with population_stack(infra) as s:
        async with httpx.AsyncClient(base_url=s.gateway_url, timeout=30) as c:
            s.areas = await setup_year(c, await s.login(c, "qu_tongji"))
            r = await post(c, f"/api/v1/population/areas/{s.areas[AREA1]}/assignments",
                           await s.login(c, "tiantang_cun"), {"username": "tiantang_wangge"})
            assert r.status_code == 200, r.text
        yield s


async def _events(stack, household_no: str) -> dict[str, int]:
    conn = await asyncpg.connect(stack.database_url)
    try:
        rows = await conn.fetch(
            f"SELECT e.type, count(*) AS n FROM {stack.schema('population')}.events e "
            f"JOIN {stack.schema('population')}.households h ON e.stream_id = 'household-' || h.household_id "
            "WHERE h.household_no = $1 GROUP BY e.type", household_no)
        return {r["type"]: r["n"] for r in rows}
    finally:
        await conn.close()


async def _households(stack, household_no: str) -> int:
    conn = await asyncpg.connect(stack.database_url)
    try:
        return await conn.fetchval(
            f"SELECT count(*) FROM {stack.schema('population')}.households WHERE household_no = $1",
            household_no)
    finally:
        await conn.close()


async def _ready_offline(ctx, page, area_id: str) -> None:
    """The worker controls the page and has cached the form and the area list; then offline."""
    await page.wait_for_function("navigator.serviceWorker && navigator.serviceWorker.controller !== null")
    await page.goto(f"/#/population/register/{area_id}")
    await page.wait_for_selector("#pop-hh [name=household_no]")
    await page.wait_for_function("""async () => {
      const keys = (await (await caches.open("gx-data-v1")).keys()).map((r) => r.url);
      return keys.some((u) => u.includes("/population/forms/current")) &&
             keys.some((u) => u.includes("/population/areas"));
    }""")
    await ctx.set_offline(True)
    await page.goto(f"/#/population/register/{area_id}?fresh=1")  # a fresh page, from the cache
    await page.reload()
    await page.wait_for_selector("#pop-hh [name=household_no]")


async def _fill(page, household_no: str) -> None:
    hh = page.locator("#pop-hh")
    for name, v in {"household_no": household_no, "persons_at_reference": "2", "births_male": "0",
                    "births_female": "0", "deaths_male": "0", "deaths_female": "0"}.items():
        await hh.locator(f"[name={name}]").fill(v)
    await hh.locator("[name=household_type]").select_option("1")
    await _person(page, 0, HEAD)
    await page.click("text=增加一人")
    await _person(page, 1, CHILD)


async def _person(page, i: int, values: dict) -> None:
    box = page.locator("#pop-persons fieldset.person").nth(i)
    for name, v in values.items():
        field = box.locator(f"[name={name}]")
        if await field.evaluate("e => e.tagName") == "SELECT":
            await field.select_option(v)
        else:
            await field.fill(v)


async def _read_back_and_hand_in(page) -> str:
    await page.click("#main button:has-text('保存')")
    await page.wait_for_selector("#pop-readback pre")
    text = await page.inner_text("#pop-readback pre")
    assert HEAD_NAME in text and "壮族" in text and "1981年3月" in text and HEAD_ID in text
    await page.click("text=记录确认")  # not ticked: nothing recorded, 交表 stays off
    assert await page.locator("#pop-readback button:has-text('交表')").is_disabled()
    await page.check("#pop-rb-ok")
    await page.click("text=记录确认")
    await expect(page.locator("#pop-rb-when")).to_contain_text("已记录确认")
    await page.click("#pop-readback button:has-text('交表')")
    return text


async def _no_plaintext(page, *, expect_key: bool | None = None) -> str:
    dump = await page.evaluate(DUMP)
    for secret in (HEAD_NAME, CHILD_NAME, HEAD_ID, CHILD_ID, HEAD_ID[:14], "1981-03"):
        assert secret not in dump, secret
    if expect_key is not None:
        assert ('"cryptoKey":false' in dump) == expect_key, dump[:400]
    return dump


def _size_id(size) -> str:
    return str(size["width"])


async def test_refused_registration_stays_on_its_draft_then_lands_once(pop, browser):
    """Uncertified: 403 enumerator_not_certified in Chinese on the draft, entries kept; after the
    exam, 不修改，重新发送 lands the household exactly once."""
    ctx, page = await open_as(browser, pop.gateway_url, "tiantang_wangge", PHONE, "/#/population")
    try:
        await _ready_offline(ctx, page, pop.areas[AREA1])
        await _fill(page, "009")
        await _read_back_and_hand_in(page)
        await expect(page.locator("#pop-queued-note")).to_contain_text("待发送")
        await _no_plaintext(page, expect_key=True)
        await ctx.set_offline(False)
        item = page.locator('#outbox-list li[data-kind="population.household"]').first
        await expect(item).to_have_attribute("data-state", "failed", timeout=20000)
        await expect(item).to_contain_text("尚未取得2026年度调查员资格")
        await expect(page.locator("#pop-failed-note")).to_contain_text("调查员资格")
        assert await page.input_value("#pop-persons fieldset.person >> nth=0 >> [name=name]") == HEAD_NAME
        await page.screenshot(path=f"{SHOTS}-refused-360.png", full_page=True)
        assert await _households(pop, "009") == 0

        async with httpx.AsyncClient(base_url=pop.gateway_url, timeout=30) as c:
            await certify(c, await pop.login(c, "tiantang_wangge"))
        await page.reload()  # the 重新发送 button shows while online
        item = page.locator('#outbox-list li[data-kind="population.household"]').first
        await item.locator("button", has_text="不修改，重新发送").click()
        await expect(item).to_have_attribute("data-state", "done", timeout=20000)
        got = await _events(pop, "009")
        assert got.get("population.household.draft_saved") == 1, got
        assert got.get("population.household.read_back_confirmed") == 1, got
        assert got.get("population.household.handed_in") == 1, got
        assert not page.errors, page.errors
    finally:
        await ctx.close()


@pytest.mark.parametrize("size", [WIDE, PHONE], ids=_size_id)
async def test_offline_registration_with_read_back_lands_once(pop, browser, size):
    tag = size["width"]
    no = "011" if tag == 1366 else "012"
    async with httpx.AsyncClient(base_url=pop.gateway_url, timeout=30) as c:
        await certify(c, await pop.login(c, "tiantang_wangge"))
    ctx, page = await open_as(browser, pop.gateway_url, "tiantang_wangge", size, "/#/population")
    try:
        await _ready_offline(ctx, page, pop.areas[AREA1])
        await _fill(page, no)
        await page.wait_for_function("location.hash.includes('draft=')")
        await asyncio.sleep(0.6)  # the autosave (300 ms)
        await _no_plaintext(page, expect_key=True)
        await page.reload()  # offline reload: the app, the draft (decrypted) come back
        await page.wait_for_selector("#pop-persons fieldset.person >> nth=1")
        assert await page.input_value("#pop-persons fieldset.person >> nth=1 >> [name=id_number]") == CHILD_ID
        shown = await _read_back_and_hand_in(page)
        await expect(page.locator("#pop-queued-note")).to_contain_text("待发送")
        item = page.locator('#outbox-list li[data-kind="population.household"]', has_text=f"第{no}户")
        await expect(item).to_have_attribute("data-state", "queued")
        await page.screenshot(path=f"{SHOTS}-queued-{tag}.png", full_page=True)
        await page.goto("/#/tasks")  # the grid worker's home lists the same outbox
        await expect(page.locator("#outbox-list li", has_text=f"第{no}户")).to_contain_text("待发送")
        await page.screenshot(path=f"{SHOTS}-tasks-outbox-{tag}.png", full_page=True)
        await page.reload()  # still queued after a reload offline, still encrypted
        await _no_plaintext(page, expect_key=True)
        assert await _households(pop, no) == 0

        online = dt.datetime.now(dt.UTC)
        await ctx.set_offline(False)
        await expect(page.locator("#outbox-list li", has_text=f"第{no}户")).to_have_attribute(
            "data-state", "done", timeout=20000)
        await page.screenshot(path=f"{SHOTS}-sent-{tag}.png", full_page=True)
        got = await _events(pop, no)
        assert got.get("population.household.draft_saved") == 1, got
        assert got.get("population.household.read_back_confirmed") == 1, got
        assert got.get("population.household.handed_in") == 1, got
        # the device forgets the personal data: no ciphertext, no draft, the key destroyed
        for _ in range(40):
            dump = await _no_plaintext(page)
            if '"cryptoKey"' not in dump:
                break
            await asyncio.sleep(0.25)
        assert '"sealed"' not in dump and '"cryptoKey"' not in dump, dump[:600]
        # what the respondent heard is what the server keeps (same text, same form)
        async with httpx.AsyncClient(base_url=pop.gateway_url, timeout=30) as c:
            h = await pop.login(c, "tiantang_wangge")
            r = await c.get(f"/api/v1/population/households?area_id={pop.areas[AREA1]}", headers=h)
            hid = next(x["household_id"] for x in r.json()["items"] if x["household_no"] == no)
            rb = await c.get(f"/api/v1/population/households/{hid}/readback", headers=h)
            record = (await c.get(f"/api/v1/population/households/{hid}", headers=h)).json()["readback"]
        assert rb.json()["text"] == shown
        # the confirmation's time is the phone's (offline, before the hand-in reached the server),
        # the server's receive time beside it, and the phone's digest of the read-back checked
        assert dt.datetime.fromisoformat(record["confirmed_at"]) < online
        assert dt.datetime.fromisoformat(record["received_at"]) >= online - dt.timedelta(seconds=1)
        assert record["readback_digest"], record
        await page.goto(f"/#/population/household/{hid}")
        await expect(page.locator("#pop-readback-record")).to_contain_text("服务器收到")
        await expect(page.locator("#pop-readback-record")).to_contain_text("回读内容摘要已核对")
        assert not page.errors, page.errors
    finally:
        await ctx.close()


async def test_offline_change_report_lands_once(pop, browser):
    ctx, page = await open_as(browser, pop.gateway_url, "tiantang_wangge", PHONE, "/#/population/ledger")
    try:
        await page.wait_for_function("navigator.serviceWorker && navigator.serviceWorker.controller !== null")
        await page.reload()
        await page.wait_for_selector("#pop-report-change")
        await ctx.set_offline(True)
        await page.click("#pop-report-change")
        dlg = page.locator("dialog")
        await dlg.locator("[name=kind]").select_option("birth")
        await dlg.locator("[name=date]").fill("2026-11-03")
        await dlg.locator("[name=name]").fill(CHILD_NAME)
        await dlg.locator("[name=sex]").select_option("2")
        await dlg.locator("button[type=submit]").click()
        item = page.locator('#outbox-list li[data-kind="population.change"]').first
        await expect(item).to_have_attribute("data-state", "queued")
        await expect(item).to_contain_text("人口变动：出生 2026-11-03")
        await _no_plaintext(page, expect_key=True)
        await page.screenshot(path=f"{SHOTS}-change-queued-360.png", full_page=True)
        await ctx.set_offline(False)
        await expect(item).to_have_attribute("data-state", "done", timeout=20000)
        conn = await asyncpg.connect(pop.database_url)
        try:
            n = await conn.fetchval(
                f"SELECT count(*) FROM {pop.schema('population')}.events "
                "WHERE type = 'population.change.reported' AND data->>'date' = '2026-11-03'")
        finally:
            await conn.close()
        assert n == 1
        assert not page.errors, page.errors
    finally:
        await ctx.close()
