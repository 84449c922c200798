"""手机安全证书 in real Chromium with GX_DEVICE_REQUIRED on: the coordinator cannot save without a
certificate → asks for one (Ed25519 key made by WebCrypto, private key kept in IndexedDB) → the
county approves it on its 设备登记 page → saves and submits (every mutation signed) → the county
revokes → the next save is refused with the Chinese message."""
from __future__ import annotations

import asyncio
import time

import asyncpg
import pytest

expect = pytest.importorskip("playwright.async_api").expect

from gx_contracts.ids import report_id_for

from ..e2e.stack import running_stack
from .support import DESKTOP, PHONE, open_as, publish, shot

TIANTANG = "450103103201"
VALUES = {"crop_area": 4000, "grain_area": 2600, "early_rice_area": 1200,
          "early_rice_output": 900000, "late_rice_area": 1100, "maize_area": 300,
          "maize_output": 90000}
REVOKED = "本机安全证书已被吊销，请联系县统计局重新登记"
PLAUSIBLE = {**VALUES, "early_rice_output": 500000}  # no warning: the queued submit goes through


@pytest.fixture(scope="module")
async def stack(infra):
    """This module's own stack: the gateway requires the device certificate."""
    async with running_stack(infra, gateway_overrides={"GX_DEVICE_REQUIRED": True}) as s:
        yield s


async def test_enrol_sign_and_revoke_in_the_browser(stack, api, browser):
    first = await publish(api, stack, "450103000000", "证书测试：早稻")
    second = await publish(api, stack, "450103000000", "证书测试：晚稻")
    third = await publish(api, stack, "450103000000", "证书测试：离线提交")
    rid, rid2, rid3 = (str(report_id_for(t, TIANTANG)) for t in (first, second, third))
    contexts = []
    try:
        ctx_phone, phone = await open_as(browser, stack.gateway_url, "tiantang_cun", viewport=PHONE)
        contexts.append(ctx_phone)
        notice = phone.locator("#device-notice")
        await expect(notice).to_contain_text("本机尚未登记安全证书")
        # Without a certificate the save is refused — and the coordinator stays logged in.
        await phone.click(f'li[data-report="{rid}"] a')
        await phone.fill("#v-crop_area", "4000")
        await phone.click("#btn-save")
        await expect(phone.locator("#report-page .alert.error")).to_contain_text("本机尚未登记安全证书")
        await expect(phone.locator("#top")).to_be_visible()
        await shot(phone, "device-01-not-enrolled.png")

        # 申请登记: the key pair is made in the browser; only the public key leaves it.
        await phone.click("#btn-device-request")
        await expect(notice).to_contain_text("等待县统计局批准")
        stored = await phone.evaluate("""async () => {
          const db = await new Promise((ok, no) => { const r = indexedDB.open("gx-device", 1);
            r.onsuccess = () => ok(r.result); r.onerror = () => no(r.error); });
          const rec = await new Promise((ok) => {
            const g = db.transaction("keys").objectStore("keys").get("tiantang_cun");
            g.onsuccess = () => ok(g.result); });
          return { type: rec.privateKey.type, algorithm: rec.privateKey.algorithm.name,
                   extractable: rec.privateKey.extractable, fingerprint: rec.fingerprint };
        }""")
        assert stored["type"] == "private" and stored["algorithm"] == "Ed25519"
        assert stored["extractable"] is False
        await expect(notice).to_contain_text(stored["fingerprint"])

        # The county sees the request (with the same fingerprint) and approves it.
        ctx, county = await open_as(browser, stack.gateway_url, "qingxiu_qu", viewport=DESKTOP,
                                    path="/#/devices")
        contexts.append(ctx)
        row = county.locator('#device-requests li[data-username="tiantang_cun"]')
        await expect(row).to_contain_text(stored["fingerprint"])
        # the owner by personal name, role and division; the login name is not shown
        await expect(row).to_contain_text("黄春兰（村级统计协管员 · 天堂村委会）")
        await expect(county.locator("main")).not_to_contain_text("tiantang_cun")
        await shot(county, "device-02-county-requests.png")
        await row.locator(".btn-approve").click()
        await expect(row).to_have_count(0)
        device_row = county.locator('#device-list li[data-username="tiantang_cun"]')
        await expect(device_row).to_contain_text("有效")
        await expect(device_row).to_contain_text("黄春兰（村级统计协管员 · 天堂村委会）")
        await expect(county.locator("main")).not_to_contain_text("tiantang_cun")

        # The coordinator's page learns of the approval by itself; saving and submitting work.
        await expect(notice).not_to_contain_text("等待县统计局批准", timeout=15000)
        for code, value in VALUES.items():
            await phone.fill(f"#v-{code}", str(value))
        await phone.click("#btn-save")
        await expect(phone.locator("#report-page .alert.ok")).to_contain_text("草稿已保存")
        await phone.click("#btn-validate")
        await phone.fill("#x-early_rice_output", "今年推广超级稻，单产大幅提高")
        await phone.click("#btn-submit")
        await expect(phone.locator("#submit-result")).to_contain_text("已提交")
        await shot(phone, "device-03-signed-submit.png")

        # Offline: a submit waits in the outbox; it is signed when it is sent, not when queued,
        # so the gateway's timestamp bound (GX_DEVICE_CLOCK_SKEW) holds however long it waited.
        await phone.goto(f"/#/report/{rid3}")
        await expect(phone.locator("#report-form")).to_be_visible()
        await phone.wait_for_function("navigator.serviceWorker.controller !== null")
        await ctx_phone.set_offline(True)
        for code, value in PLAUSIBLE.items():
            await phone.fill(f"#v-{code}", str(value))
        await phone.click("#btn-submit")
        await expect(phone.locator("#queued-note")).to_contain_text("待发送")
        queued_at = time.time()
        stamps: list[str] = []
        phone.on("request", lambda r: stamps.append(r.headers.get("x-gx-timestamp", ""))
                 if r.url.endswith(f"/reports/{rid3}/submit") else None)
        await asyncio.sleep(2.2)
        await ctx_phone.set_offline(False)
        await expect(phone.locator("#submit-result")).to_contain_text("已提交", timeout=20000)
        assert stamps and all(s and int(s) >= int(queued_at) + 2 for s in stamps), (queued_at, stamps)
        await shot(phone, "device-03b-offline-submit-signed-at-send.png")

        # The county revokes the phone; the coordinator's very next save is refused.
        await device_row.locator(".btn-revoke").click()
        await county.locator("dialog[open] button[type=submit]").click()
        await expect(device_row).to_contain_text("已吊销")
        await phone.goto(f"/#/report/{rid2}")
        await phone.fill("#v-crop_area", "3000")
        await phone.click("#btn-save")
        await expect(phone.locator("#report-page .alert.error").first).to_contain_text(REVOKED)
        await expect(notice).to_contain_text(REVOKED)
        await expect(phone.locator("#top")).to_be_visible()
        await shot(phone, "device-04-revoked.png")

        # What the gateway recorded: the submit came from the approved device.
        h = await stack.login(api, "qingxiu_qu")
        devices = (await api.get("/api/v1/admin/devices", headers=h)).json()["items"]
        mine = [d for d in devices if d["username"] == "tiantang_cun"]
        assert len(mine) == 1 and mine[0]["revoked_at"]
        assert mine[0]["fingerprint"] == stored["fingerprint"]
        conn = await asyncpg.connect(stack.database_url)
        try:
            rows = await conn.fetch(
                f"SELECT type, metadata->>'device' AS device FROM {stack.schema('agri')}.events "
                f"WHERE data->>'report_id' = $1 AND type LIKE 'agri.report.%'", rid)
            late = await conn.fetch(
                f"SELECT metadata->>'device' AS device FROM {stack.schema('agri')}.events "
                f"WHERE data->>'report_id' = $1 AND type = 'agri.report.submitted'", rid3)
        finally:
            await conn.close()
        submitted = [r["device"] for r in rows if r["type"] == "agri.report.submitted"]
        assert submitted == [mine[0]["device_id"]], rows
        assert [r["device"] for r in late] == [mine[0]["device_id"]], late
        for page in (phone, county):
            assert not page.errors, page.errors
    finally:
        for ctx in contexts:
            await ctx.close()


async def test_reads_and_reviewers_need_no_certificate(stack, api, browser):
    """Reviewers never sign; a coordinator's reads work without a certificate."""
    ctx, page = await open_as(browser, stack.gateway_url, "changtang_zhen")
    try:
        await expect(page.locator("#queue-summary")).to_contain_text("共")
        await expect(page.locator("#device-notice")).to_have_count(0)
        assert not page.errors, page.errors
    finally:
        await ctx.close()
