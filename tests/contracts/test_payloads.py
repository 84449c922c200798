"""Event payloads and command bodies: validation, Chinese errors naming the field."""

from datetime import UTC, datetime
from uuid import uuid4

import pytest
from pydantic import ValidationError

from gx_contracts.commands import COMMANDS, Login, PublishTask, ReturnCase, SaveDraft
from gx_contracts.envelope import HEADERS, KafkaEnvelope, source_for, topic_for
from gx_contracts.events import (
    EVENT_TYPES,
    RETURN_REASONS,
    event_fields,
    payload_model,
    validate_payload,
)
from gx_contracts.events.agri import SUBJECT_KIND, ReportSubmitted
from gx_contracts.events.workflow import CaseReturned
from gx_kernel.eventstore import StoredEvent
from gx_kernel.kafka import encode


def _errors(exc: ValidationError) -> dict[str, str]:
    return {".".join(map(str, e["loc"])): e["msg"] for e in exc.errors()}


def _submitted() -> dict:
    rid, tid = uuid4(), uuid4()
    return {
        "report_id": str(rid), "task_id": str(tid), "form_code": "A301", "form_version": 1,
        "period": "2026-Q1", "village_code": "450103103201", "values": {"a1": 12.5, "a2": 3, "a3": None},
        "explanations": {"a1": "今年扩种"}, "revision": 1,
        "submission": {"subject_kind": SUBJECT_KIND, "subject_id": str(rid), "division_code": "450103103201",
                       "task_id": str(tid), "revision": 1, "title": "2026年一季度 - 天堂村委会"},
    }


def test_validate_payload_and_event_fields_round_trip():
    p = validate_payload("agri.report.submitted", _submitted())
    assert isinstance(p, ReportSubmitted) and p.values == {"a1": 12.5, "a2": 3, "a3": None}
    fields = event_fields(p)
    assert fields["type"] == "agri.report.submitted" and fields["schema_version"] == 1
    assert validate_payload(fields["type"], fields["data"]) == p


def test_events_ignore_unknown_fields():
    data = _submitted() | {"added_in_v1_1": True}
    assert not hasattr(validate_payload("agri.report.submitted", data), "added_in_v1_1")


def test_bad_division_code_names_the_field_in_chinese():
    data = _submitted()
    data["submission"]["division_code"] = "4501031032"
    with pytest.raises(ValidationError) as exc:
        validate_payload("agri.report.submitted", data)
    assert _errors(exc.value) == {"submission.division_code": "统计用区划代码必须是12位数字"}
    with pytest.raises(ValidationError) as exc:
        PublishTask(form_code="A301", period="2026", title="春播", scope_division="45",
                    deadline=datetime(2026, 5, 1, tzinfo=UTC))
    assert _errors(exc.value) == {"scope_division": "统计用区划代码必须是12位数字"}


def test_unknown_event_type():
    with pytest.raises(KeyError):
        payload_model("agri.report.exploded")


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_commands_reject_unknown_fields(name):
    assert COMMANDS[name].model_config["extra"] == "forbid"
    with pytest.raises(ValidationError) as exc:
        COMMANDS[name].model_validate({"no_such_field": 1})
    assert any(e["type"] == "extra_forbidden" and e["loc"] == ("no_such_field",) for e in exc.value.errors())


def test_commands_carry_chinese_titles_for_every_field():
    for model in COMMANDS.values():
        for name, info in model.model_fields.items():
            assert info.title and not info.title.isascii(), (model.__name__, name)


def test_save_draft_values_non_negative():
    SaveDraft(values={"a1": 0, "a2": 1.5, "a3": None}, expected_version=0)
    with pytest.raises(ValidationError) as exc:
        SaveDraft(values={"a1": -1, "a2": float("inf")}, expected_version=0)
    errs = _errors(exc.value)
    assert set(errs) == {"values.a1", "values.a2"} and errs["values.a1"] == "指标值不能为负数"
    assert errs["values.a2"].startswith("指标值必须是有限数值")


def test_return_case_rules():
    ok = ReturnCase(expected_version=3, reason_code="R01", reason="播种面积填错")
    assert ok.to_level is None and ok.field_notes == {}
    assert set(RETURN_REASONS) >= {"R01", "R02", "R03", "R04", "R05", "R99"}
    with pytest.raises(ValidationError) as exc:
        ReturnCase(expected_version=3, reason_code="R42", reason="  ", to_level="galaxy")
    errs = _errors(exc.value)
    assert set(errs) == {"reason_code", "reason", "to_level"}
    assert "退回原因代码无效" in errs["reason_code"] and errs["reason"] == "不能为空"
    with pytest.raises(ValidationError):
        ReturnCase(expected_version=3, reason_code="R99", reason="x" * 501)


def test_login_keeps_password_verbatim():
    assert Login(username="qu_tongji", password=" Demo@2026 ").password == " Demo@2026 "


def test_the_kernels_wire_format_is_the_documented_envelope():
    """What actually goes on the topic (gx_kernel.kafka.encode) matches the contract."""
    data = _submitted()
    stored = StoredEvent(uuid4(), f"report-{data['report_id']}", 2, 7, 1, "agri.report.submitted",
                         1, data, {"actor": "u1"}, datetime(2026, 3, 1, 8, 0, tzinfo=UTC))
    key, value, raw_headers = encode(stored, source_for("agri"))
    env = KafkaEnvelope.model_validate_json(value)
    assert env.id == stored.id and env.stream_id == stored.stream_id == key.decode()
    assert env.version == 2 and env.data["report_id"] == data["report_id"]
    headers = dict(raw_headers)
    assert set(headers) == set(HEADERS)  # one list: what the encoder writes is what is documented
    assert headers["ce_dataschemaversion"] == b"1"
    assert headers["ce_source"] == b"/gxstat/agri" and headers["ce_specversion"] == b"1.0"
    assert headers["ce_id"] == str(stored.id).encode() and headers["ce_subject"] == key
    assert datetime.fromisoformat(headers["ce_time"].decode()) == stored.recorded_at
    assert topic_for("workflow.case.returned") == "workflow.events"


def test_workflow_returned_to_submitter():
    p = CaseReturned(case_id=uuid4(), subject_kind="agri.report", subject_id="x", division_code="450103103201",
                     revision=1, from_level="county", to_level="village", reason_code="R03", reason="逻辑不符")
    assert p.to_level.value == "village" and p.field_notes == {}


def test_every_event_is_registered_once_with_a_version():
    assert len(EVENT_TYPES) == len({m for m, _ in EVENT_TYPES.values()})
    assert all(v >= 1 and t == m.EVENT_TYPE for t, (m, v) in EVENT_TYPES.items())
