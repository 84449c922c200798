"""Trusted decoding (a rebuild reading our own store back) gives what validating gives.

For every registered event type, Hypothesis draws payload dicts from the class's own schema
(kept only when the class validates them, as an event is validated when it is raised, then
through JSON as the store keeps it); the trusted decode must build an equal object of the same
class, with the same fields set and the same dump. Outside `trusted_replay`, decode still
refuses what the checks refuse (inbound events stay validated).
"""
from __future__ import annotations

import functools
import json
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from gx_contracts.events import EVENT_TYPES, decode
from gx_contracts.events.agri import ReportSubmitted
from gx_contracts.events.trusted import trusted_replay, trusted_schema, trusting
from gx_contracts.events.upcasting import InvalidPayload

from tests.hypothesis_budget import examples

pytestmark = pytest.mark.unit
TYPES = sorted(EVENT_TYPES)
CODES = st.sampled_from(["450000000000", "450100000000", "450103000000", "450103103000",
                         "450103103201", "450103103202"])
_SMALL = 3  # items drawn per map or list


def _text(node: dict[str, Any]) -> st.SearchStrategy[str]:
    lo, most = node.get("min_length", 0), node.get("max_length", 10**6)
    if node.get("pattern"):
        return st.from_regex(node["pattern"], fullmatch=True).filter(
            lambda s: lo <= len(s) <= most)
    hi = min(most, 24)
    plain = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), min_size=lo,
                    max_size=hi)
    return st.one_of(plain, plain.map(lambda s: ("gxp1:" + s)[:hi]).filter(lambda s: len(s) >= lo))


def _from(node: Any, defs: dict[str, Any]) -> st.SearchStrategy[Any]:  # noqa: PLR0911, C901
    """JSON-shaped values for a pydantic core schema (a superset of the valid ones)."""
    kind = node["type"]
    if kind == "definitions":
        defs = {**defs, **{d["ref"]: d for d in node["definitions"]}}
        return _from(node["schema"], defs)
    if kind == "definition-ref":
        return st.deferred(lambda: _from(defs[node["schema_ref"]], defs))
    if kind in ("function-after", "function-before", "function-wrap"):
        name = getattr(node["function"].get("function"), "__name__", "")
        return CODES if name == "_division_code" else _from(node["schema"], defs)
    if kind == "function-plain":
        return st.one_of(st.none(), st.integers(0, 10**6), st.floats(0, 1e6))
    if kind == "chain":
        return _from(node["steps"][0], defs)
    if kind == "str":
        return _text(node)
    if kind == "int":
        return st.integers(node.get("ge", node.get("gt", -(2**40)) + 1),
                           node.get("le", node.get("lt", 2**40) - 1))
    if kind == "float":
        return st.floats(node.get("ge", -1e9), node.get("le", 1e9), allow_nan=False)
    if kind == "bool":
        return st.booleans()
    if kind == "none":
        return st.none()
    if kind == "any":
        return st.one_of(st.none(), st.integers(-5, 5), st.text(max_size=5),
                         st.dictionaries(st.text(max_size=4), st.integers(), max_size=2))
    if kind == "uuid":
        return st.uuids().map(str)
    if kind == "datetime":
        return st.datetimes(datetime(2020, 1, 1), datetime(2030, 1, 1),
                            timezones=st.just(UTC)).map(lambda d: d.isoformat())
    if kind == "date":
        return st.dates(date(2020, 1, 1), date(2030, 1, 1)).map(str)
    if kind == "timedelta":
        return st.integers(0, 10**6).map(lambda s: str(timedelta(seconds=s)))
    if kind in ("enum", "literal"):
        values = node.get("members") or node.get("expected")
        return st.sampled_from([getattr(v, "value", v) for v in values])
    if kind == "nullable":
        return st.one_of(st.none(), _from(node["schema"], defs))
    if kind == "union":
        return st.one_of(*(_from(c[0] if isinstance(c, tuple) else c, defs)
                           for c in node["choices"]))
    if kind in ("list", "set", "frozenset", "tuple"):
        items = node.get("items_schema") or (node.get("items_schemas") or [{"type": "any"}])[0]
        lo = node.get("min_length", 0)
        return st.lists(_from(items, defs), min_size=lo, max_size=max(lo, _SMALL))
    if kind == "dict":
        keys = node.get("keys_schema", {"type": "str"})
        values = node.get("values_schema", {"type": "any"})
        return st.dictionaries(_from(keys, defs), _from(values, defs), max_size=_SMALL)
    if kind == "default":
        return _from(node["schema"], defs)
    if kind == "model":
        return _from(node["schema"], defs)
    if kind == "model-fields":
        required, optional = {}, {}
        for name, field in node["fields"].items():
            inner = field["schema"]
            (optional if inner["type"] == "default" else required)[name] = _from(inner, defs)
        return st.fixed_dictionaries(required, optional=optional)
    raise AssertionError(f"no strategy for core schema type {kind}")


@functools.cache
def payloads(event_type: str) -> st.SearchStrategy[dict[str, Any]]:
    model = EVENT_TYPES[event_type][0]
    return _from(model.__pydantic_core_schema__, {})


def _stored(model: type[BaseModel], data: dict[str, Any]) -> dict[str, Any]:
    """`data` as the store keeps it: validated when raised, dumped, through JSON."""
    try:
        raised = model.model_validate(data)
    except ValidationError:
        assume(False)
    return json.loads(json.dumps(raised.model_dump(mode="json"), ensure_ascii=False))


@settings(max_examples=examples(400), deadline=None,
          suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])
@given(event_type=st.sampled_from(TYPES), data=st.data())
def test_trusted_decode_equals_validating_decode(event_type: str, data: st.DataObject) -> None:
    model = EVENT_TYPES[event_type][0]
    stored = _stored(model, data.draw(payloads(event_type)))
    checked = decode(event_type, 1, stored)
    trusted = decode(event_type, 1, json.loads(json.dumps(stored)), trusted=True)
    assert type(trusted) is type(checked)
    assert trusted == checked
    assert trusted.model_fields_set == checked.model_fields_set
    assert trusted.model_dump() == checked.model_dump()
    assert trusted.model_dump_json() == checked.model_dump_json()


def _functions(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [getattr(getattr(v, "func", v), "__name__", repr(v)) for k, v in node.items()
                 if k == "function" and not isinstance(v, dict)]
        return found + [f for k, v in node.items() if k != "serialization"
                        for f in _functions(v)]
    if isinstance(node, (list, tuple)):
        return [f for v in node for f in _functions(v)]
    return []


@pytest.mark.parametrize("event_type", TYPES)
def test_no_contract_check_is_left_in_a_trusted_schema(event_type: str) -> None:
    model = EVENT_TYPES[event_type][0]
    assert set(_functions(trusted_schema(model.__pydantic_core_schema__))) <= {"_instance"}


def test_only_inside_trusted_replay_and_live_decoding_still_refuses_bad_input() -> None:
    good = json.loads(json.dumps(ReportSubmitted(
        report_id=uuid.uuid4(), task_id=uuid.uuid4(), form_code="A301", form_version=1,
        period="2026", village_code="450103103201", values={"a": 1}, revision=1,
        submission={"subject_kind": "agri.report", "subject_id": "r", "revision": 1,
                    "division_code": "450103103201", "title": "t"},
    ).model_dump(mode="json")))
    bad = {**good, "village_code": "12345", "explanations": {"a": "含\x00空字符"}}
    with pytest.raises(InvalidPayload):
        decode(ReportSubmitted.EVENT_TYPE, 1, bad)  # a broker record, a request: validated
    assert not trusting()
    with trusted_replay():
        assert trusting()
        # our own store's events: converted (ids, times, nested classes), not checked again
        p = decode(ReportSubmitted.EVENT_TYPE, 1, bad)
        assert isinstance(p.report_id, uuid.UUID) and p.village_code == "12345"
        with pytest.raises(InvalidPayload):  # what cannot even be converted still fails
            decode(ReportSubmitted.EVENT_TYPE, 1, {**good, "report_id": "not-a-uuid"})
        with pytest.raises(InvalidPayload):  # an explicit "validate" wins inside too
            decode(ReportSubmitted.EVENT_TYPE, 1, bad, trusted=False)
    assert not trusting()
    with pytest.raises(InvalidPayload):
        decode(ReportSubmitted.EVENT_TYPE, 1, bad)
