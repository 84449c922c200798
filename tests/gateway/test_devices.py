"""Device security certificate: enrol, signed requests, revocation stops at once."""
from __future__ import annotations

import time

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from gx_gateway.domain.device_proof import b64encode, canonical_message

from .conftest import auth, login


class Phone:
    """What the phone app does: hold a private key, sign each data-collection request."""

    def __init__(self):
        self.key = Ed25519PrivateKey.generate()
        self.device_id: str | None = None

    @property
    def public_key(self) -> str:
        return b64encode(self.key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))

    def sign(self, method: str, path_qs: str, body: bytes, stamp: int | None = None) -> dict:
        ts = str(stamp if stamp is not None else int(time.time()))
        sig = self.key.sign(canonical_message(self.device_id, method, path_qs, ts, body))
        return {"X-Gx-Device-Id": self.device_id, "X-Gx-Timestamp": ts,
                "X-Gx-Signature": b64encode(sig), "Content-Type": "application/json"}


@pytest.fixture
def required(runtime):
    runtime.settings.device_required = True
    yield
    runtime.settings.device_required = False


async def enrol(client, phone: Phone, username="tiantang_cun", admin="qingxiu_qu") -> dict:
    token = (await login(client, admin))["access_token"]
    r = await client.post("/api/v1/admin/devices", headers=auth(token), json={
        "username": username, "label": "华为 畅享", "public_key": phone.public_key})
    assert r.status_code == 201, r.text
    phone.device_id = r.json()["device_id"]
    return r.json()


async def test_signed_request_accepted_and_revocation_stops_it(client, required, runtime):
    phone = Phone()
    await enrol(client, phone)
    token = (await login(client, "tiantang_cun"))["access_token"]
    body, path = b'{"values": {"a": 1}}', "/api/v1/agri/reports/r1/submit"
    r = await client.post(path, content=body, headers=auth(token, **phone.sign("POST", path, body)))
    assert r.status_code == 200, r.text
    assert r.json()["principal"]["device_id"] == phone.device_id
    # Without the proof a data-collection mutation is refused; reads do not need it.
    r = await client.post(path, content=body, headers=auth(token))
    assert r.status_code == 401 and r.json()["code"] == "device_proof_missing"
    assert (await client.get("/api/v1/agri/tasks", headers=auth(token))).status_code == 200
    # Tampered body, wrong path, stale timestamp.
    h = phone.sign("POST", path, body)
    r = await client.post(path, content=b'{"values": {"a": 9}}', headers=auth(token, **h))
    assert r.json()["code"] == "device_signature_invalid"
    r = await client.post("/api/v1/agri/reports/r2/submit", content=body, headers=auth(token, **h))
    assert r.json()["code"] == "device_signature_invalid"
    old = phone.sign("POST", path, body, stamp=int(time.time()) - 3600)
    r = await client.post(path, content=body, headers=auth(token, **old))
    assert r.json()["code"] == "device_timestamp_invalid"
    # Revoke: the very next request is refused.
    county = (await login(client, "qingxiu_qu"))["access_token"]
    r = await client.post(f"/api/v1/admin/devices/{phone.device_id}/revoke",
                          json={"reason": "手机遗失"}, headers=auth(county))
    assert r.status_code == 200 and r.json()["revoked_at"]
    r = await client.post(path, content=body, headers=auth(token, **phone.sign("POST", path, body)))
    assert r.status_code == 403 and r.json()["code"] == "device_revoked"
    events = await runtime.store.read_stream(f"device-{phone.device_id}")
    assert [e.type for e in events] == ["gateway.device.enrolled", "gateway.device.revoked"]


async def test_owner_revokes_lost_phone_without_it(client, required):
    phone = Phone()
    await enrol(client, phone, username="dingxi_cun")
    token = (await login(client, "dingxi_cun"))["access_token"]
    r = await client.post(f"/api/v1/admin/devices/{phone.device_id}/revoke",
                          json={"reason": "手机遗失"}, headers=auth(token))
    assert r.status_code == 200 and r.json()["revoked_at"]


async def test_device_of_another_user_is_refused(client, required):
    phone = Phone()
    await enrol(client, phone, username="dingxi_cun")
    token = (await login(client, "tiantang_cun"))["access_token"]
    path, body = "/api/v1/agri/reports/r1/submit", b"{}"
    r = await client.post(path, content=body, headers=auth(token, **phone.sign("POST", path, body)))
    assert r.status_code == 401 and r.json()["code"] == "device_unknown"


async def test_enrolment_rules(client):
    phone = Phone()
    township = (await login(client, "changtang_zhen"))["access_token"]
    body = {"username": "tiantang_cun", "label": "p", "public_key": phone.public_key}
    r = await client.post("/api/v1/admin/devices", json=body, headers=auth(township))
    assert r.status_code == 403
    county = (await login(client, "qingxiu_qu"))["access_token"]
    r = await client.post("/api/v1/admin/devices", headers=auth(county),
                          json={**body, "username": "changtang_zhen"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "username"
    r = await client.post("/api/v1/admin/devices", headers=auth(county),
                          json={**body, "public_key": "!" * 44})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "public_key"
    r = await client.post("/api/v1/admin/devices", headers=auth(county),
                          json={**body, "username": "nobody"})
    assert r.status_code == 404


async def test_device_rate_limit(client, limits):
    phone = Phone()
    await enrol(client, phone)
    token = (await login(client, "tiantang_cun"))["access_token"]
    limits(user_burst=100, device_burst=2)
    path = "/api/v1/agri/tasks"
    codes = [(await client.get(path, headers=auth(token, **phone.sign("GET", path, b"")))).status_code
             for _ in range(3)]
    assert codes == [200, 200, 429]
