"""The area map (小区图) upload is a phone write like the others: with GX_DEVICE_REQUIRED the
gateway refuses it without the device's proof, or with a proof over other bytes; the console
signs the image's own bytes (SHA-256 of the raw body, as the gateway's canonical message has
it), so a coordinator with an enrolled phone uploads a map of nearly 1 MB in Chromium."""
import hashlib
import os
import struct
import time
import zlib

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from pop_support import AREA1, population_stack, setup_year
from test_console_population import browser  # noqa: F401 - the module's Chromium fixture

from gx_gateway.domain.device_proof import b64encode, canonical_message
from tests.browser.support import DESKTOP, open_as, shot

expect = pytest.importorskip("playwright.async_api").expect
pytestmark = pytest.mark.browser
P = "/api/v1/population"


def big_png(width: int = 560, height: int = 590) -> bytes:
    """A valid PNG of random pixels stored (not compressed): just under 1,000,000 bytes."""
    def chunk(kind, body):
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))
    raw = b"".join(b"\x00" + os.urandom(3 * width) for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0,
                                                               0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 0)) + chunk(b"IEND", b""))


@pytest.fixture(scope="module")
async def pop_device(infra):
    async with population_stack(infra, {"GX_DEVICE_REQUIRED": True}) as s:
        yield s


async def test_map_upload_carries_the_device_proof(pop_device, browser, tmp_path):  # noqa: F811
    pop = pop_device
    image = big_png()
    assert 990_000 < len(image) <= 1_000_000
    async with httpx.AsyncClient(base_url=pop.gateway_url, timeout=30) as c:
        region = await pop.login(c, "qu_tongji")
        areas = await setup_year(c, region)
        coord = await pop.login(c, "tiantang_cun")
        url = f"{P}/areas/{areas[AREA1]}/map"
        png = {"Content-Type": "image/png", "Idempotency-Key": os.urandom(8).hex()}
        r = await c.put(url, content=image, headers={**coord, **png})
        assert r.status_code == 401 and r.json()["code"] == "device_proof_missing", r.text
        # a phone enrolled by the county; a proof over other bytes does not cover this body
        key = Ed25519PrivateKey.generate()
        raw = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        county = await pop.login(c, "qingxiu_qu")
        r = await c.post("/api/v1/admin/devices", headers=county, json={
            "username": "tiantang_cun", "label": "测试手机", "public_key": b64encode(raw)})
        assert r.status_code == 201, r.text
        device = r.json()["device_id"]

        def proof(body: bytes) -> dict:
            ts = str(int(time.time()))
            sig = key.sign(canonical_message(device, "PUT", url, ts, body))
            return {"X-Gx-Device-Id": device, "X-Gx-Timestamp": ts,
                    "X-Gx-Signature": b64encode(sig)}
        r = await c.put(url, content=image, headers={**coord, **png, **proof(image[:-1] + b"!")})
        assert r.status_code == 401 and r.json()["code"] == "device_signature_invalid", r.text
        r = await c.put(url, content=image, headers={**coord, **png, **proof(image)})
        assert r.status_code == 201, r.text
        assert r.json()["size"] == len(image) and r.json()["sha256"] == hashlib.sha256(
            image).hexdigest()

    # the console: its own key pair (made in the browser, approved by the county), the upload
    # signed over the image's bytes
    path = tmp_path / "map.png"
    path.write_bytes(big_png(500, 600))
    ctx, page = await open_as(browser, pop.gateway_url, "tiantang_cun", DESKTOP,
                              f"#/population/area/{areas[AREA1]}")
    try:
        public = await page.evaluate("""async () => {
          const m = await import("/console/devicekey.js");
          const rec = await m.newKeyPair("tiantang_cun", "浏览器测试");
          await m.saveRecord({ ...rec, status: "pending" });
          return rec.publicKey; }""")
        async with httpx.AsyncClient(base_url=pop.gateway_url, timeout=30) as c:
            r = await c.post("/api/v1/admin/devices", headers=await pop.login(c, "qingxiu_qu"),
                             json={"username": "tiantang_cun", "label": "浏览器测试",
                                   "public_key": public.replace("-", "+").replace("_", "/")
                                   + "=" * (-len(public) % 4)})
            assert r.status_code == 201, r.text
        await page.evaluate("""async (id) => {
          const m = await import("/console/devicekey.js");
          await m.updateRecord("tiantang_cun", { deviceId: id, status: "enrolled" }); }""",
                            r.json()["device_id"])
        await page.reload()
        await page.wait_for_selector("#pop-map-box")
        sent: list[dict] = []
        page.on("request", lambda q: sent.append(q.headers) if q.method == "PUT" else None)
        await page.set_input_files("#pop-map-file", str(path))
        await page.click("#pop-map-upload")
        # the map uploaded over the API above (560×590) is replaced by this one
        await expect(page.locator("#pop-map-box")).to_contain_text("500×600")
        await page.wait_for_selector("#pop-map[src^='blob:']")
        assert sent and sent[-1].get("x-gx-signature"), sent
        await shot(page, "population-area-map-signed.png")
        assert page.errors == []
    finally:
        await ctx.close()
