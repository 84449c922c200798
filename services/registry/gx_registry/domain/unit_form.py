"""基本单位情况表: the versioned form, its hard and soft rules and the location fix (pure, no I/O).
The form aggregate that climbs the review chain is `form_aggregate.UnitForm`."""
from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from gx_contracts.divisions import contains, is_valid_code
from gx_contracts.events.registry import Location

from gx_registry.domain.codes import validate_uscc
from gx_registry.domain.form_aggregate import FIRST_LEVEL, UnitForm

FORMS_DIR = Path(__file__).resolve().parent.parent / "forms"
STATUS_ZH = {"not_started": "未填报", "draft": "草稿", "submitted": "已上报，审核中",
             "returned": "已退回，重新核实", "accepted": "已验收", "confirmed": "已验收"}


@dataclass(frozen=True, slots=True)
class Finding:
    field: str
    rule: str
    message: str
    severity: str  # error | warning

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "rule": self.rule, "message": self.message,
                "severity": self.severity}


@dataclass(frozen=True)
class FormDef:
    code: str
    version: int
    title: str
    fields: tuple[dict[str, Any], ...]
    soft: tuple[dict[str, Any], ...]

    def labels(self) -> dict[str, str]:
        return {f["code"]: f["label"] for f in self.fields} | {"location": "地理位置定位"}

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "version": self.version, "title": self.title,
                "fields": list(self.fields), "soft": list(self.soft)}


@cache
def form_def(version: int | None = None) -> FormDef | None:
    found = {}
    for p in FORMS_DIR.glob("unit_form.v*.json"):
        d = json.loads(p.read_text(encoding="utf-8"))
        found[int(d["version"])] = FormDef(d["code"], int(d["version"]), d["title"],
                                           tuple(d["fields"]), tuple(d.get("soft", ())))
    if not found:
        return None
    return found.get(version) if version is not None else found[max(found)]


def check(form: FormDef, values: Mapping[str, Any], explanations: Mapping[str, str],
          location: Location | None, village_code: str, max_accuracy_m: float,
          *, submitting: bool) -> list[Finding]:
    """Hard rules (errors) and soft rules (warnings); a warning with an explanation passes."""
    out: list[Finding] = []
    known = {f["code"] for f in form.fields}
    for k in values:
        if k not in known:
            out.append(Finding(k, "field.unknown", f"表中没有字段“{k}”", "error"))
    for f in form.fields:
        out += _check_field(f, values.get(f["code"]), village_code, submitting)
    for rule in form.soft:
        v = values.get(rule["field"])
        hit = (rule["rule"] == "gt" and isinstance(v, (int, float)) and v > rule["value"]) or (
            rule["rule"] == "missing_unless" and submitting and v in (None, "")
            and not any(values.get(k) in vs for k, vs in rule["unless"].items()))
        if hit:
            out.append(Finding(rule["field"], rule["id"], rule["message"], "warning"))
    if submitting:
        if location is None:
            out.append(Finding("location", "location.missing",
                               "未取得地理位置定位，请说明原因（如室内无信号）", "warning"))
        elif location.accuracy_m > max_accuracy_m:
            out.append(Finding("location", "location.coarse",
                               f"定位精度 {location.accuracy_m:.0f} 米，低于要求（{max_accuracy_m:.0f} 米以内），"
                               f"请重新定位或说明原因", "warning"))
    return [f for f in out if f.severity == "error" or not (explanations.get(f.field) or "").strip()]


def _check_field(f: dict[str, Any], v: Any, village_code: str, submitting: bool) -> list[Finding]:
    code, label = f["code"], f["label"]
    if v in (None, ""):
        return ([Finding(code, "required", f"{label}为必填项", "error")]
                if f.get("required") and submitting else [])
    t = f["type"]
    if t == "integer":
        if isinstance(v, bool) or not isinstance(v, int):
            return [Finding(code, "type.integer", f"{label}应为整数", "error")]
        if not f.get("min", v) <= v <= f.get("max", v):
            return [Finding(code, "range", f"{label}应在 {f['min']}–{f['max']} 之间", "error")]
        return []
    if not isinstance(v, str):
        return [Finding(code, "type.text", f"{label}应为文字", "error")]
    if len(v) > f.get("max", 200):
        return [Finding(code, "too_long", f"{label}过长（至多{f.get('max', 200)}字）", "error")]
    if t == "uscc":
        r = validate_uscc(v)
        return [Finding(code, p.code, p.message, "error") for p in r.problems
                if p.severity == "error"]
    if t == "division":
        if not is_valid_code(v):
            return [Finding(code, "division.format", f"{label}应为12位数字", "error")]
        if not contains(village_code, v):
            return [Finding(code, "division.outside", f"{label}不在本村（社区）范围内；"
                            f"不在本辖区的单位请迁出", "error")]
        return []
    if t == "choice" and v not in f["options"]:
        return [Finding(code, "choice", f"{label}“{v}”不在代码表中", "error")]
    if f.get("pattern") and not re.fullmatch(f["pattern"], v):
        return [Finding(code, "pattern", f"{label}格式不正确", "error")]
    return []


__all__ = ["FormDef", "Finding", "UnitForm", "FIRST_LEVEL", "check", "form_def", "STATUS_ZH"]
