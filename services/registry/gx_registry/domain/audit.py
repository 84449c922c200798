"""名录库审核: audit rules (data) over the register's stock (pure). Each finding names the rule,
the field and a Chinese message; a unit with findings gets a 实地核实 task."""
from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from gx_registry.domain.codes import validate_uscc
from gx_registry.domain.names import normalise

RULES = Path(__file__).resolve().parent.parent / "rules" / "audit-v1.json"


@dataclass(frozen=True)
class AuditRules:
    version: str
    rules: tuple[dict[str, Any], ...]


@cache
def audit_rules() -> AuditRules:
    d = json.loads(RULES.read_text(encoding="utf-8"))
    return AuditRules(d["version"], tuple(d["rules"]))


def audit(units: Iterable[Mapping[str, Any]], division_exists: Any,
          rules: AuditRules | None = None) -> dict[Any, list[dict[str, str]]]:
    """unit_id -> findings, for the units given (a whole jurisdiction: duplicates need all)."""
    rules = rules or audit_rules()
    rows = list(units)
    names = Counter((u["division_code"], normalise(u["name"])) for u in rows)
    out: dict[Any, list[dict[str, str]]] = {}
    for u in rows:
        found = []
        for r in rules.rules:
            if r.get("only_kind") and u.get("unit_kind") != r["only_kind"]:
                continue
            detail = _failed(r, u, division_exists, names)
            if detail is not None:
                found.append({"rule": r["id"], "field": r["field"],
                              "message": r["message"].format(detail=detail,
                                                             value=u.get(r["field"]) or "")})
        if found:
            out[u["unit_id"]] = found
    return out


def _failed(r: Mapping[str, Any], u: Mapping[str, Any], exists: Any, names: Counter[Any]
            ) -> str | None:
    check = r["check"]
    if check == "uscc_valid":
        if not u.get("uscc"):
            return None
        problems = [p.message for p in validate_uscc(u["uscc"]).problems if p.severity == "error"]
        return "；".join(problems) if problems else None
    if check == "division_exists":
        return None if exists(u["division_code"]) else "x"
    if check == "activity_has_parent":
        return "x" if u.get("unit_kind") == "activity_unit" and not u.get("parent_id") else None
    if check == "unique_name_in_division":
        village = len(u["division_code"].rstrip("0")) > 9
        return "x" if village and names[(u["division_code"], normalise(u["name"]))] > 1 else None
    if check == "present":
        return None if u.get(r["field"]) else "x"
    raise ValueError(f"unknown audit check {check}")

