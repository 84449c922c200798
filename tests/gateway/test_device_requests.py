"""Enrolment requests (登记申请): the phone asks with its own public key, the county approves
(through the normal enrolment path) or rejects; the approved key then signs data collection."""
from __future__ import annotations

import time
import uuid

from .conftest import auth, login
from .test_devices import Phone, required  # noqa: F401 - `required` is a fixture

PATH = "/api/v1/registry/households/h1"  # grid workers may write the registry
BODY = b'{"values": {"crop_area": 1}, "expected_version": 0}'


async def _token(client, username: str) -> str:
    return (await login(client, username))["access_token"]


async def _ask(client, phone: Phone, username: str = "tiantang_wangge") -> dict:
    r = await client.post("/api/v1/devices/requests", headers=auth(await _token(client, username)),
                          json={"label": "浏览器（测试）", "public_key": phone.public_key})
    assert r.status_code == 201, r.text
    return r.json()


async def test_request_approve_sign_and_events(client, runtime, required):  # noqa: F811
    phone = Phone()
    token = await _token(client, "tiantang_wangge")
    # Without a certificate the grid worker's data collection is refused …
    r = await client.put(PATH, content=BODY, headers=auth(token))
    assert r.status_code == 401 and r.json()["code"] == "device_proof_missing"
    # … but asking for one needs no device proof (device required is on).
    req = await _ask(client, phone)
    assert req["status"] == "pending" and len(req["fingerprint"]) == 19
    county = auth(await _token(client, "qingxiu_qu"))
    listed = (await client.get("/api/v1/admin/devices/requests", headers=county)).json()["items"]
    mine = [x for x in listed if x["request_id"] == req["request_id"]]
    assert mine and mine[0]["username"] == "tiantang_wangge"
    assert mine[0]["fingerprint"] == req["fingerprint"]

    r = await client.post(f"/api/v1/admin/devices/requests/{req['request_id']}/approve",
                          headers=county)
    assert r.status_code == 200, r.text
    phone.device_id = r.json()["device_id"]
    assert r.json()["status"] == "approved" and phone.device_id
    # Deciding twice is a conflict, not a second device.
    r = await client.post(f"/api/v1/admin/devices/requests/{req['request_id']}/approve",
                          headers=county)
    assert r.status_code == 409 and r.json()["code"] == "device_request_decided"
    # The owner learns the device id; the county sees the device in its list.
    own = (await client.get("/api/v1/devices/mine", headers=auth(token))).json()
    assert own["requests"][0]["device_id"] == phone.device_id
    assert [d["device_id"] for d in own["devices"]] == [phone.device_id]
    devices = (await client.get("/api/v1/admin/devices", headers=county)).json()["items"]
    assert phone.device_id in {d["device_id"] for d in devices}

    r = await client.put(PATH, content=BODY, headers=auth(token, **phone.sign("PUT", PATH, BODY)))
    assert r.status_code == 200, r.text
    assert r.json()["principal"]["device_id"] == phone.device_id

    events = await runtime.store.read_stream(f"device-request-{req['request_id']}")
    assert [e.type for e in events] == ["gateway.device.requested",
                                        "gateway.device.request_approved"]
    assert set(events[0].data) == {"request_id", "user_id", "division"}  # no name, no key
    enrolled = await runtime.store.read_stream(f"device-{phone.device_id}")
    assert [e.type for e in enrolled] == ["gateway.device.enrolled"]


async def test_forged_foreign_and_replayed_are_refused(client, required):  # noqa: F811
    phone, other = Phone(), Phone()
    for p, user in ((phone, "tiantang_wangge"), (other, "dingxi_cun")):
        req = await _ask(client, p, user)
        r = await client.post(f"/api/v1/admin/devices/requests/{req['request_id']}/approve",
                              headers=auth(await _token(client, "qingxiu_qu")))
        p.device_id = r.json()["device_id"]
    token = await _token(client, "tiantang_wangge")
    # Forged: signed by another key under this device's id.
    forger = Phone()
    forger.device_id = phone.device_id
    r = await client.put(PATH, content=BODY, headers=auth(token, **forger.sign("PUT", PATH, BODY)))
    assert r.status_code == 401 and r.json()["code"] == "device_signature_invalid"
    # Another user's (valid) device.
    r = await client.put(PATH, content=BODY, headers=auth(token, **other.sign("PUT", PATH, BODY)))
    assert r.status_code == 401 and r.json()["code"] == "device_unknown"
    # An old signature replayed after the clock-skew window.
    old = phone.sign("PUT", PATH, BODY, stamp=int(time.time()) - 301)
    r = await client.put(PATH, content=BODY, headers=auth(token, **old))
    assert r.status_code == 401 and r.json()["code"] == "device_timestamp_invalid"
    # Signed for GET, sent as PUT.
    sig = phone.sign("GET", PATH, BODY)
    r = await client.put(PATH, content=BODY, headers=auth(token, **sig))
    assert r.json()["code"] == "device_signature_invalid"


async def test_reject_rules_and_jurisdiction(client, runtime):
    phone = Phone()
    req = await _ask(client, phone, "dingxi_cun")
    rid = req["request_id"]
    # Only county/region statisticians, only over their own jurisdiction.
    for who in ("changtang_zhen", "tiantang_cun"):
        h = auth(await _token(client, who))
        r = await client.get("/api/v1/admin/devices/requests", headers=h)
        assert r.status_code == 403
        r = await client.post(f"/api/v1/admin/devices/requests/{rid}/approve",
                              headers=auth(await _token(client, who)))
        assert r.status_code == 403
    region = auth(await _token(client, "qu_tongji"))
    other = {"username": f"c{uuid.uuid4().hex[:8]}", "name_zh": "兴宁区统计局",
             "role": "county_statistician", "division": "450102000000", "password": "Passw0rd!x"}
    assert (await client.post("/api/v1/admin/users", json=other, headers=region)).status_code == 201
    outsider = auth((await login(client, other["username"], other["password"]))["access_token"])
    listed = (await client.get("/api/v1/admin/devices/requests", headers=outsider)).json()
    assert rid not in {x["request_id"] for x in listed["items"]}
    r = await client.post(f"/api/v1/admin/devices/requests/{rid}/approve", headers=outsider)
    assert r.status_code == 403 and r.json()["code"] == "outside_jurisdiction"
    # A county statistician cannot request a device for themself; bad keys name the field.
    county = auth(await _token(client, "qingxiu_qu"))
    r = await client.post("/api/v1/devices/requests", headers=county,
                          json={"label": "x", "public_key": phone.public_key})
    assert r.status_code == 403 and r.json()["code"] == "device_request_forbidden"
    dingxi = auth(await _token(client, "dingxi_cun"))
    r = await client.post("/api/v1/devices/requests", headers=dingxi,
                          json={"label": "x", "public_key": "A" * 44})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "public_key"
    assert (await client.post("/api/v1/admin/devices/requests/nope/reject", headers=region,
                              json={"reason": "x"})).status_code == 404
    # A second request replaces the first (withdrawn); the county rejects the second.
    second = await _ask(client, Phone(), "dingxi_cun")
    r = await client.post(f"/api/v1/admin/devices/requests/{rid}/approve", headers=region)
    assert r.status_code == 409
    r = await client.post(f"/api/v1/admin/devices/requests/{second['request_id']}/reject",
                          headers=region, json={"reason": "不是本人的手机"})
    assert r.status_code == 200 and r.json()["status"] == "rejected"
    own = await client.get("/api/v1/devices/mine", headers=dingxi)
    statuses = {x["request_id"]: x["status"] for x in own.json()["requests"]}
    assert statuses[rid] == "withdrawn" and statuses[second["request_id"]] == "rejected"
    assert own.json()["requests"][0]["reason"] == "不是本人的手机"
    events = await runtime.store.read_stream(f"device-request-{second['request_id']}")
    assert [e.type for e in events] == ["gateway.device.requested",
                                        "gateway.device.request_rejected"]
