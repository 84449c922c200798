"""What the gateway writes to `gateway.events` (issue 14 §6): each of its nine audit event
types, raised through the real HTTP commands, is stored exactly as its contracts class dumps it
and matches the generated JSON Schema a reader of the topic would use."""
from __future__ import annotations

import json
import uuid

import jsonschema
import pytest

from gx_contracts import export
from gx_contracts.envelope import topic_for
from gx_contracts.events import EVENT_TYPES, validate_payload
from gx_kernel.eventstore import Checkpoint

from .conftest import auth, login
from .test_admin import new_user
from .test_devices import Phone, enrol

GATEWAY_TYPES = {t for t in EVENT_TYPES if topic_for(t) == "gateway.events"}


async def _every_command(client) -> None:
    region = auth((await login(client, "qu_tongji"))["access_token"])
    county = auth((await login(client, "qingxiu_qu"))["access_token"])
    user = new_user("grid_worker", "450103103202")
    r = await client.post("/api/v1/admin/users", json=user, headers=county)
    assert r.status_code == 201, r.text
    r = await client.post(f"/api/v1/admin/users/{user['username']}/unlock", headers=county)
    assert r.status_code == 200 and r.json()["was_held"] is False
    phone = Phone()
    await enrol(client, phone)  # direct enrolment by the county
    r = await client.post(f"/api/v1/admin/devices/{phone.device_id}/revoke", headers=county,
                          json={"reason": "手机遗失"})
    assert r.status_code == 200, r.text
    worker = auth((await login(client, "tiantang_wangge"))["access_token"])
    for decision in ("approve", "reject"):
        r = await client.post("/api/v1/devices/requests", headers=worker,
                              json={"label": "浏览器（测试）", "public_key": Phone().public_key})
        assert r.status_code == 201, r.text
        url = f"/api/v1/admin/devices/requests/{r.json()['request_id']}/{decision}"
        r = await client.post(url, headers=county,
                              **({"json": {"reason": "不是本人的手机"}} if decision == "reject" else {}))
        assert r.status_code == 200, r.text
    url = "/api/v1/admin/subscribers/sheng_xitong/topics"
    for change in ({"grant": ["registry.events"]}, {"revoke": ["registry.events"]}):
        r = await client.post(url, headers=region, json=change)
        assert r.status_code == 200, r.text


async def test_every_gateway_event_is_its_contract_class_and_schema(client, runtime):
    await _every_command(client)
    events, after = [], Checkpoint.START
    while batch := await runtime.store.read_all(after, 500):
        events += batch
        after = (batch[-1].tx_id, batch[-1].position)
    assert {e.type for e in events} == GATEWAY_TYPES, "each of the nine types was raised"
    schemas = {}
    for e in events:
        model, version = EVENT_TYPES[e.type]
        assert e.schema_version == version
        payload = validate_payload(e.type, e.data)
        assert type(payload) is model
        assert payload.model_dump(mode="json") == e.data  # stored as the class dumps it
        path = export.contracts_dir() / "schemas" / "events" / f"{e.type}.v{version}.json"
        schema = schemas.setdefault(e.type, json.loads(path.read_text(encoding="utf-8")))
        jsonschema.validate(e.data, schema)
        # the audit trail names accounts by id and login name only: no 姓名, no key material
        assert not {"name_zh", "password", "public_key", "label"} & set(e.data), e.type


async def test_a_payload_the_contract_refuses_is_never_written(client, runtime):
    """Typed when written: a bad value fails the command before anything is stored."""
    from pydantic import ValidationError

    from gx_kernel.identity import Principal

    from gx_gateway.application import devices

    phone = Phone()
    await enrol(client, phone)
    stream = f"device-{phone.device_id}"
    before = await runtime.store.stream_version(stream)
    schema = runtime.settings.schema
    row = await runtime.pool.fetchrow(
        f"SELECT user_id, username, role, division FROM {schema}.users WHERE username = $1",
        "qingxiu_qu")
    county = Principal(str(row["user_id"]), row["username"], row["role"], row["division"])
    # The route bounds the reason as well; the application is called directly here.
    with pytest.raises(ValidationError):
        await devices.revoke(runtime, county, phone.device_id, "很" * 201)
    assert await runtime.store.stream_version(stream) == before
    revoked_at = await runtime.pool.fetchval(
        f"SELECT revoked_at FROM {schema}.devices WHERE device_id = $1",
        uuid.UUID(phone.device_id))
    assert revoked_at is None  # the row rolled back with the event
