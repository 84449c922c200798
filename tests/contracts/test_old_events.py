"""Events stored by older code are read by today's: upcasting chain and the 820aedc payloads.

``fixtures/events_820aedc.json`` holds one payload per agri and workflow event type, written by
commit 820aedc's own payload classes (``event_fields``) in a scratch checkout of that commit —
the main of the morning of 2026-12-01. Never regenerate it from today's classes.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, ClassVar

import pytest

from gx_contracts.divisions import Level
from gx_contracts.events import EVENT_TYPES, EventDecodeError, decode
from gx_contracts.events.agri import ReportAccepted, ReportSubmitted
from gx_contracts.events.upcasting import (
    UPCASTING,
    InvalidPayload,
    MissingUpcaster,
    UnknownEventType,
    UnknownSchemaVersion,
    Upcasting,
)
from gx_contracts.events.workflow import CaseOpened, CaseResubmitted
from gx_contracts.types import EventPayload

FIXTURE = json.loads((Path(__file__).parent / "fixtures" / "events_820aedc.json")
                     .read_text(encoding="utf-8"))
OLD = {e["type"]: e for e in FIXTURE["events"]}


def test_fixture_has_one_event_of_every_agri_and_workflow_type_of_820aedc() -> None:
    assert FIXTURE["commit"] == "820aedc"
    assert len(OLD) == len(FIXTURE["events"]) == 12
    assert {t.split(".")[0] for t in OLD} == {"agri", "workflow"}


@pytest.mark.parametrize("event_type", sorted(OLD))
def test_old_event_decodes_into_todays_payload_class(event_type: str) -> None:
    old = OLD[event_type]
    before = copy.deepcopy(old["data"])
    payload = decode(event_type, old["schema_version"], old["data"])
    model, _ = EVENT_TYPES[event_type]
    assert type(payload) is model and event_type == payload.EVENT_TYPE
    assert old["data"] == before  # the stored dict is not changed by reading it
    # Every field the old code wrote keeps its value (nothing dropped or reinterpreted).
    _assert_kept(old["data"], payload.model_dump(mode="json"), event_type)


def _assert_kept(old: Any, now: Any, where: str) -> None:
    """``now`` holds every key of ``old`` (at any depth) with the same value; it may add keys."""
    if isinstance(old, dict):
        assert isinstance(now, dict), where
        for key, value in old.items():
            assert key in now, f"{where}.{key} dropped"
            _assert_kept(value, now[key], f"{where}.{key}")
    else:
        assert now == old, where


def test_fields_added_since_820aedc_take_the_meaning_of_old_events() -> None:
    accepted = decode("agri.report.accepted", 1, OLD["agri.report.accepted"]["data"])
    assert isinstance(accepted, ReportAccepted)
    assert accepted.final is True  # before the field every acceptance was final
    assert accepted.next_level is None and accepted.accepted_level is None
    assert accepted.level is Level.region

    submitted = decode("agri.report.submitted", 1, OLD["agri.report.submitted"]["data"])
    assert isinstance(submitted, ReportSubmitted)
    assert submitted.note_answers == {} and submitted.changed == []
    assert submitted.submission.field_labels == {}  # 空 = 未知
    assert submitted.values["pigs_slaughter"] is None

    opened = decode("workflow.case.opened", 1, OLD["workflow.case.opened"]["data"])
    assert isinstance(opened, CaseOpened)
    assert opened.watch_levels == [] and opened.chain_profile is None
    assert opened.early_accept_levels == [Level.township]

    resubmitted = decode("workflow.case.resubmitted", 1, OLD["workflow.case.resubmitted"]["data"])
    assert isinstance(resubmitted, CaseResubmitted)
    assert resubmitted.field_labels is None  # 与原报送相同


def test_real_registry_has_no_gap_in_any_upcasting_chain() -> None:
    assert UPCASTING.gaps() == []


def test_a_version_newer_than_known_or_an_unknown_type_is_a_clear_error() -> None:
    data = OLD["agri.report.accepted"]["data"]
    with pytest.raises(UnknownSchemaVersion, match=r"agri\.report\.accepted v2: newer"):
        decode("agri.report.accepted", 2, data)
    with pytest.raises(UnknownSchemaVersion, match="≥ 1"):
        decode("agri.report.accepted", 0, data)
    with pytest.raises(UnknownEventType, match="agri.report.exploded"):
        decode("agri.report.exploded", 1, data)
    with pytest.raises(InvalidPayload, match="revision"):
        decode("agri.report.accepted", 1, {**data, "revision": 0})


# --- the machinery on a test-only event type (no real payload has changed shape yet) -------

class _ReturnedV3(EventPayload):
    """v1 had only ``reason``; v2 added a required ``reason_code``; v3 renamed level -> from_level."""

    EVENT_TYPE: ClassVar[str] = "test.case.returned"
    SCHEMA_VERSION: ClassVar[int] = 3

    reason_code: str
    reason: str
    from_level: Level


@pytest.fixture
def example() -> Upcasting:
    reg = Upcasting(types={"test.case.returned": (_ReturnedV3, 3)})

    @reg.upcaster("test.case.returned", from_version=1)
    def _code_from_reason(d: dict[str, Any]) -> dict[str, Any]:
        d["reason_code"] = "R99"  # v1 carried free text only: 其他
        return d

    @reg.upcaster("test.case.returned", from_version=2)
    def _rename_level(d: dict[str, Any]) -> dict[str, Any]:
        d["from_level"] = d.pop("level")
        return d

    return reg


def test_each_stored_version_is_lifted_through_the_rest_of_the_chain(example: Upcasting) -> None:
    v1 = {"reason": "数据不完整", "level": "county"}
    v2 = {"reason": "数据不完整", "reason_code": "R02", "level": "county"}
    v3 = {"reason": "数据不完整", "reason_code": "R02", "from_level": "county"}
    for version, data, code in ((1, v1, "R99"), (2, v2, "R02"), (3, v3, "R02")):
        before = copy.deepcopy(data)
        got = example.decode("test.case.returned", version, data)
        assert isinstance(got, _ReturnedV3)
        assert (got.reason_code, got.from_level) == (code, Level.county)
        assert data == before  # upcasters work on a copy


def test_chain_errors_are_poison_value_errors_naming_type_and_version(example: Upcasting) -> None:
    with pytest.raises(UnknownSchemaVersion, match=r"test\.case\.returned v4: newer .* v3"):
        example.decode("test.case.returned", 4, {})
    with pytest.raises(InvalidPayload, match="from_level"):
        example.decode("test.case.returned", 3, {"reason": "x", "reason_code": "R01"})
    with pytest.raises(InvalidPayload, match=r"v2: upcaster to v3 failed: KeyError\('level'\)"):
        example.decode("test.case.returned", 2, {"reason": "x", "reason_code": "R01"})
    with pytest.raises(InvalidPayload, match="not an object"):
        example.decode("test.case.returned", 3, ["reason"])
    gap = Upcasting(types={"test.case.returned": (_ReturnedV3, 3)})
    gap.upcaster("test.case.returned", 2)(lambda d: d)
    with pytest.raises(MissingUpcaster, match="v1: no upcaster to v2"):
        gap.decode("test.case.returned", 1, {"reason": "x", "level": "county"})
    assert gap.gaps() == ["test.case.returned: no upcaster v1 -> v2"]
    assert issubclass(EventDecodeError, ValueError)  # the consumer dead-letters at once


def test_an_upcaster_is_registered_once_and_only_where_a_chain_leads(example: Upcasting) -> None:
    with pytest.raises(ValueError, match="registered twice"):
        example.upcaster("test.case.returned", 1)(lambda d: d)
    with pytest.raises(ValueError, match="≥ 1"):
        example.upcaster("test.case.returned", 0)
    example.upcaster("test.case.returned", 3)(lambda d: d)
    example.upcaster("test.case.gone", 1)(lambda d: d)
    assert example.gaps() == ["test.case.gone: upcaster v1 for an unknown type",
                              "test.case.returned: upcaster v3 beyond current v3"]
    bad = Upcasting(types={"test.case.returned": (_ReturnedV3, 2)})
    bad.upcaster("test.case.returned", 1)(lambda d: None)  # type: ignore[arg-type,return-value]
    with pytest.raises(InvalidPayload, match="returned NoneType"):
        bad.decode("test.case.returned", 1, {})
