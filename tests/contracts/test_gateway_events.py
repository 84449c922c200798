"""The gateway's audit events (`gateway.events`, internal): each class round-trips, refuses
what the gateway never writes, and the generated documents call the topic internal."""
from __future__ import annotations

import json
from uuid import uuid4

import pytest
import yaml
from pydantic import ValidationError

from gx_contracts import export
from gx_contracts.envelope import topic_for
from gx_contracts.events import EVENT_TYPES, event_fields, validate_payload
from gx_contracts.events import gateway as gw

USER, DEVICE, REQUEST = str(uuid4()), str(uuid4()), str(uuid4())
EXAMPLES = {
    "gateway.user.created": {"user_id": USER, "username": "qingxiu_qu",
                             "role": "county_statistician", "division": "450103000000"},
    "gateway.user.unlocked": {"user_id": USER, "username": "tiantang_cun", "was_held": True},
    "gateway.device.requested": {"request_id": REQUEST, "user_id": USER,
                                 "division": "450103103201"},
    "gateway.device.request_approved": {"request_id": REQUEST, "device_id": DEVICE},
    "gateway.device.request_rejected": {"request_id": REQUEST},
    "gateway.device.enrolled": {"device_id": DEVICE, "user_id": USER, "division": "450103103201"},
    "gateway.device.revoked": {"device_id": DEVICE, "reason": "手机遗失"},
    "gateway.subscription.granted": {"user_id": USER, "topic": "agri.events"},
    "gateway.subscription.revoked": {"user_id": USER, "topic": "workflow.events"},
}


def test_the_nine_types_the_gateway_writes_are_registered_on_gateway_events():
    mine = {t for t, (model, _) in EVENT_TYPES.items() if model.__module__ == gw.__name__}
    assert mine == set(EXAMPLES) == {getattr(gw, n).EVENT_TYPE for n in gw.__all__}
    assert {topic_for(t) for t in mine} == {"gateway.events"}


@pytest.mark.parametrize("event_type", sorted(EXAMPLES))
def test_each_payload_round_trips(event_type):
    payload = validate_payload(event_type, EXAMPLES[event_type])
    fields = event_fields(payload)
    assert fields == {"type": event_type, "data": EXAMPLES[event_type], "schema_version": 1}
    assert json.loads(json.dumps(fields["data"])) == fields["data"]  # JSON as the store keeps it
    assert validate_payload(event_type, fields["data"]) == payload
    # readers ignore fields they do not know (a later version may add some)
    assert validate_payload(event_type, {**EXAMPLES[event_type], "added_later": 1}) == payload


@pytest.mark.parametrize(("event_type", "change", "field"), [
    ("gateway.user.created", {"division": "4501"}, "division"),
    ("gateway.user.created", {"role": "superuser"}, "role"),
    ("gateway.user.created", {"username": "有 空格"}, "username"),
    ("gateway.user.unlocked", {"username": "x" * 65}, "username"),
    ("gateway.device.requested", {"user_id": "not-a-uuid"}, "user_id"),
    ("gateway.device.revoked", {"reason": ""}, "reason"),
    ("gateway.device.revoked", {"reason": "很" * 201}, "reason"),
    ("gateway.device.revoked", {"reason": "含\x00空字符"}, "reason"),
    ("gateway.subscription.granted", {"topic": "agri.events.dlq"}, "topic"),
    ("gateway.subscription.granted", {"topic": "Agri.events"}, "topic"),
])
def test_what_the_gateway_never_writes_is_refused(event_type, change, field):
    with pytest.raises(ValidationError) as exc:
        validate_payload(event_type, {**EXAMPLES[event_type], **change})
    assert [e["loc"] for e in exc.value.errors()] == [(field,)]


def test_the_documents_call_gateway_events_internal():
    files = export.generate()
    for event_type in EXAMPLES:
        schema = json.loads(files[f"schemas/events/{event_type}.v1.json"])
        assert schema["x-event-type"] == event_type and schema["description"]
    doc = yaml.safe_load(files["asyncapi.yaml"])
    channel = doc["channels"]["gateway.events"]
    assert "内部主题" in channel["description"] and "不对外授予" in channel["description"]
    assert set(channel["messages"]) == set(EXAMPLES)
    # written by the gateway's relay only; no consumer group of the platform reads it
    ops = [o for o in doc["operations"].values()
           if o["channel"]["$ref"].endswith("/gateway.events")]
    assert [o["action"] for o in ops] == ["send"] and "gateway" in ops[0]["summary"]
    assert "gateway.events.dlq" not in doc["channels"]
    # internal channels say so to a machine as well: gateway.events and every dead-letter topic
    internal = {name for name, ch in doc["channels"].items() if ch.get("x-internal")}
    assert internal == {"gateway.events"} | {n for n in doc["channels"] if n.endswith(".dlq")}
    for name, op in doc["operations"].items():
        if op["action"] == "send":
            topic = op["channel"]["$ref"].rsplit("/", 1)[1]
            assert ("never granted" in op["summary"]) == (topic in internal), name
