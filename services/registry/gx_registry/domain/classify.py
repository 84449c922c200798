"""Classify a record: 法人单位 / 产业活动单位 (with its parent) and unit type, rules as data.

The rules live in ``gx_registry/rules/classification-v*.json`` (versioned data); the id of the
rule that fired and the rules version are returned with every result so they can be stored
with the record.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from .codes import validate_uscc
from .names import normalise

RULES_DIR = Path(__file__).resolve().parent.parent / "rules"
DEFAULT_RULES = "classification-v1"

LEGAL_PERSON = "法人单位"
ACTIVITY_UNIT = "产业活动单位"


@dataclass(frozen=True, slots=True)
class TypeRule:
    id: str
    unit_type: str
    uscc_type: frozenset[str] = frozenset()
    name_re: re.Pattern[str] | None = None


@dataclass(frozen=True, slots=True)
class Rules:
    version: str
    branch_re: re.Pattern[str]
    not_branch_re: re.Pattern[str]
    parent_stem_res: tuple[re.Pattern[str], ...]
    type_rules: tuple[TypeRule, ...]
    kind_by_type: Mapping[str, str]
    default: TypeRule


@lru_cache(maxsize=4)
def load_rules(name: str = DEFAULT_RULES) -> Rules:
    data = json.loads((RULES_DIR / f"{name}.json").read_text(encoding="utf-8"))
    markers = "|".join(map(re.escape, data["branch_markers"]))
    return Rules(
        version=data["version"],
        branch_re=re.compile(f"(?:{markers})$"),
        not_branch_re=re.compile(data["not_branch_regex"]),
        parent_stem_res=tuple(re.compile(r) for r in data["parent_stem_regexes"]),
        type_rules=tuple(
            TypeRule(r["id"], r["unit_type"], frozenset(r.get("uscc_type", ())),
                     re.compile(r["name_regex"]) if "name_regex" in r else None)
            for r in data["type_rules"]
        ),
        kind_by_type=data.get("kind_rules", {}),
        default=TypeRule(data["default_type"]["id"], data["default_type"]["unit_type"]),
    )


@dataclass(frozen=True, slots=True)
class Classification:
    unit_kind: str  # 法人单位 / 产业活动单位 / 个体经营户
    unit_type: str
    kind_rule: str
    type_rule: str
    rules_version: str
    parent_name: str | None = None  # normalised name stem of the parent legal person
    parent_id: str | None = None  # its register id when found

    def as_dict(self) -> dict[str, str | None]:
        return {"unit_kind": self.unit_kind, "unit_type": self.unit_type,
                "kind_rule": self.kind_rule, "type_rule": self.type_rule,
                "rules_version": self.rules_version, "parent_name": self.parent_name,
                "parent_id": self.parent_id}


def classify(name: str, uscc: str | None = None, *,
             parents: Mapping[str, str] | None = None, rules: Rules | None = None) -> Classification:
    """``parents`` maps normalised legal-person names to register ids (for the branch's parent)."""
    rules = rules or load_rules()
    norm = normalise(name)
    type_rule = _type_rule(rules, norm, uscc)
    parent_name = parent_id = None
    by_code = type_rule.id.startswith("uscc.")
    is_branch = bool(rules.branch_re.search(norm)) and not rules.not_branch_re.search(norm)
    if rules.kind_by_type.get(type_rule.unit_type) and (by_code or not is_branch):
        kind, kind_rule = rules.kind_by_type[type_rule.unit_type], f"kind.type:{type_rule.unit_type}"
    elif is_branch:
        kind, kind_rule = ACTIVITY_UNIT, "kind.branch_name"
        if m := next(filter(None, (r.match(norm) for r in rules.parent_stem_res)), None):
            parent_name = m.group(1)
            if parents is not None:
                parent_id = parents.get(parent_name)
                if parent_id is None:
                    parent_name, parent_id = _parent_without_prefix(parent_name, parents)
    else:
        kind, kind_rule = LEGAL_PERSON, "kind.default_legal_person"
    if kind == ACTIVITY_UNIT and type_rule.id.startswith("name.") and parent_name:
        # A branch's type is its parent's: 某某银行南宁分行 is an enterprise, not a 行 (shop).
        type_rule = _type_rule(rules, parent_name, None)
    return Classification(kind, type_rule.unit_type, kind_rule, type_rule.id, rules.version,
                          parent_name, parent_id)


def _type_rule(rules: Rules, norm: str, uscc: str | None) -> TypeRule:
    if uscc:
        result = validate_uscc(uscc)
        if result.valid:
            for rule in rules.type_rules:
                if result.value[:2] in rule.uscc_type:
                    return rule
    for rule in rules.type_rules:
        if rule.name_re is not None and rule.name_re.search(norm):
            return rule
    return rules.default


def _parent_without_prefix(stem: str, parents: Mapping[str, str]) -> tuple[str, str | None]:
    """Try the stem with 广西 added or removed (branches often drop or add the region prefix)."""
    for candidate in (stem.removeprefix("广西壮族自治区"), stem.removeprefix("广西"),
                      "广西" + stem):
        if candidate in parents:
            return candidate, parents[candidate]
    return stem, None
