"""Every command field is bounded, and the JSON schema says so (issue 8: no input, however large,
breaks the platform). Walks each command's exported schema: every string has a maximum length
documented in Chinese (至多N…), every map or list a maximum item count and bounded items and
keys, every number a range."""
from __future__ import annotations

import re
from typing import Any

import pytest
from pydantic import ValidationError

from gx_contracts.commands import COMMANDS, ReturnCase
from gx_contracts.events.base import Submission
from gx_contracts.types import MAX_FIELD_LABELS

_BOUNDED_FORMATS = {"date-time", "uuid", "date"}


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if ref:
        assert ref.startswith("#/$defs/"), ref
        return root["$defs"][ref.rsplit("/", 1)[-1]]
    return schema


def unbounded(schema: dict[str, Any], root: dict[str, Any], path: str,
              described: str = "") -> list[str]:
    """Paths in `schema` that lack a bound (or a documented maximum for strings)."""
    s = _resolve(schema, root)
    description = s.get("description") or schema.get("description") or described
    problems: list[str] = []
    for key in ("anyOf", "oneOf", "allOf"):
        for i, branch in enumerate(s.get(key, ())):
            problems += unbounded(branch, root, f"{path}|{i}", description)
    kind = s.get("type")
    if kind == "string":
        if "enum" in s or "const" in s or s.get("format") in _BOUNDED_FORMATS:
            return problems
        if "maxLength" not in s:
            return problems + [f"{path}: string without maxLength"]
        n = s["maxLength"]
        if not re.search(rf"(?:至多|至){n}(?!\d)|(?<!\d){n}位", description):
            problems.append(f"{path}: maxLength {s['maxLength']} not documented in {description!r}")
    elif kind in ("number", "integer"):
        lo = "minimum" in s or "exclusiveMinimum" in s
        hi = "maximum" in s or "exclusiveMaximum" in s
        if not (lo and hi):
            problems.append(f"{path}: number without a range")
    elif kind == "array":
        if "maxItems" not in s:
            problems.append(f"{path}: array without maxItems")
        problems += unbounded(s.get("items", {}), root, f"{path}[]", description)
    elif kind == "object" and "properties" in s:  # a model: every property, no extras
        if s.get("additionalProperties") is not False:
            problems.append(f"{path}: model accepts unknown properties")
        for name, prop in s["properties"].items():
            problems += unbounded(prop, root, f"{path}.{name}" if path else name)
    elif kind == "object":  # a map
        if "maxProperties" not in s:
            problems.append(f"{path}: map without maxProperties")
        names = s.get("propertyNames")
        if not names or "maxLength" not in names:
            problems.append(f"{path}: map keys without maxLength")
        values = list((s.get("patternProperties") or {}).values())
        if isinstance(s.get("additionalProperties"), dict):
            values.append(s["additionalProperties"])
        if not values:
            problems.append(f"{path}: map values unconstrained")
        for v in values:
            problems += unbounded(v, root, f"{path}.<key>", description)
    elif kind is None and not any(k in s for k in ("anyOf", "oneOf", "allOf", "enum", "const")):
        problems.append(f"{path}: untyped (any JSON accepted)")
    return problems


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_field_is_bounded_in_its_schema(name):
    schema = COMMANDS[name].model_json_schema()
    assert unbounded(schema, schema, "") == []


def test_the_walker_finds_missing_bounds():
    """The check itself can fail: a schema without bounds is reported, field by field."""
    schema = {"type": "object", "additionalProperties": False, "properties": {
        "s": {"type": "string"}, "d": {"type": "string", "maxLength": 9, "description": "说明"},
        "n": {"type": "integer", "minimum": 0}, "a": {"type": "array", "items": {"type": "string"}},
        "m": {"type": "object", "additionalProperties": {"type": "string", "maxLength": 5,
                                                         "description": "至多5字"}}}}
    found = unbounded(schema, schema, "")
    assert [p.split(":")[0] for p in found] == ["s", "d", "n", "a", "a[]", "m", "m"]


def _errors(exc: ValidationError) -> dict[str, str]:
    return {".".join(map(str, e["loc"])): e["msg"] for e in exc.errors()}


def test_return_field_notes_bounds_in_chinese():
    with pytest.raises(ValidationError) as exc:
        ReturnCase(expected_version=1, reason_code="R01", reason="x",
                   field_notes={f"k{i}": "x" for i in range(1200)})
    assert _errors(exc.value) == {"field_notes": "指标批注至多200项，实际1200项"}
    with pytest.raises(ValidationError) as exc:
        ReturnCase(expected_version=1, reason_code="R01", reason="x", field_notes={"A01": "长" * 201})
    assert list(_errors(exc.value)) == ["field_notes.A01"]
    with pytest.raises(ValidationError) as exc:
        ReturnCase(expected_version=1, reason_code="R01", reason="含\x00空字符")
    assert _errors(exc.value) == {"reason": "不能包含空字符（\\u0000）"}


def test_submission_field_labels_optional_and_bounded():
    base = {"subject_kind": "agri.report", "subject_id": "r1", "division_code": "450103103201",
            "revision": 1, "title": "t"}
    assert Submission.model_validate(base).field_labels == {}  # older events
    ok = Submission.model_validate({**base, "field_labels": {"crop_area": "农作物总播种面积"}})
    assert ok.field_labels == {"crop_area": "农作物总播种面积"}
    with pytest.raises(ValidationError):
        Submission.model_validate({**base, "field_labels": {
            f"c{i}": "名" for i in range(MAX_FIELD_LABELS + 1)}})
    with pytest.raises(ValidationError):
        Submission.model_validate({**base, "field_labels": {"crop area!": "名"}})
