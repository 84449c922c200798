"""报表制度目录: forms and their rules are versioned data (catalogue/<code>.v<n>.json).

A published task pins a form version and every report of the task keeps it, so a new
version of a form never changes reports already filed on an older one.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from importlib import resources
from typing import Any

_FILE_RE = re.compile(r"^(?P<code>[A-Za-z0-9_-]+)\.v(?P<version>[0-9]+)\.json$")
_KINDS = {"required", "range", "yield_band", "sum", "year_on_year", "livestock_balance"}


@dataclass(frozen=True)
class Indicator:
    """指标."""

    code: str
    name: str
    unit: str
    type: str  # "decimal" | "integer"
    decimals: int
    min: Decimal  # physical range of one reporting unit's value: beyond it is an input error
    max: Decimal

    @property
    def label(self) -> str:
        return f"{self.name}（{self.unit}）"

    def in_range(self, value: Decimal) -> bool:
        return self.min <= value <= self.max

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "name": self.name, "unit": self.unit, "type": self.type,
                "decimals": self.decimals, "min": _num(self.min), "max": _num(self.max)}


def _num(d: Decimal) -> int | float:
    return int(d) if d == d.to_integral_value() else float(d)


@dataclass(frozen=True)
class Form:
    """报表：表号、名称、版本、报告期类型、指标、审核规则."""

    code: str
    name: str
    version: int
    period_type: str
    periods: tuple[dict[str, str], ...]
    reporting_unit: str
    indicators: tuple[Indicator, ...]
    rules: tuple[dict[str, Any], ...]

    def indicator(self, code: str) -> Indicator | None:
        return self._by_code().get(code)

    def labels(self) -> dict[str, str]:
        """指标代码 -> 指标名称 (what a reviewer's field note is attached to)."""
        return {i.code: i.name for i in self.indicators}

    def _by_code(self) -> dict[str, Indicator]:
        return {i.code: i for i in self.indicators}

    def period_name(self, period: str) -> str | None:
        """Chinese label of a period like 2026-EARLY, or None if the form has no such period."""
        year, _, suffix = period.partition("-")
        for p in self.periods:
            if p["suffix"] == suffix:
                return f"{year}年{p['name']}"
        return None

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "name": self.name, "version": self.version,
                "period_type": self.period_type, "periods": list(self.periods),
                "reporting_unit": self.reporting_unit,
                "indicators": [i.as_dict() for i in self.indicators], "rules": list(self.rules)}


def parse_form(raw: dict[str, Any]) -> Form:
    indicators = tuple(Indicator(i["code"], i["name"], i["unit"], i["type"], int(i["decimals"]),
                                 _bound(raw, i, "min"), _bound(raw, i, "max"))
                       for i in raw["indicators"])
    form = Form(raw["code"], raw["name"], int(raw["version"]), raw["period_type"],
                tuple(raw["periods"]), raw.get("reporting_unit", ""), indicators,
                tuple(raw.get("rules", ())))
    _check(form)
    return form


def _bound(raw: dict[str, Any], ind: dict[str, Any], key: str) -> Decimal:
    if not isinstance(ind.get(key), (int, float)) or isinstance(ind.get(key), bool):
        raise ValueError(f"{raw['code']} v{raw['version']}: indicator {ind['code']} has no {key}")
    return Decimal(str(ind[key]))


def _check(form: Form) -> None:
    """Catch catalogue mistakes at load time, not when a village submits."""
    codes = {i.code for i in form.indicators}
    if len(codes) != len(form.indicators):
        raise ValueError(f"{form.code} v{form.version}: duplicate indicator codes")
    for ind in form.indicators:
        if not (ind.min <= ind.max and ind.max.adjusted() < 15 and 0 <= ind.decimals <= 6):
            raise ValueError(f"{form.code} v{form.version}: bad range of {ind.code}")
    for rule in form.rules:
        if rule["kind"] not in _KINDS or rule["severity"] not in ("error", "warning"):
            raise ValueError(f"{form.code}: bad rule {rule.get('id')}")
        refs = [rule.get(k) for k in ("indicator", "area", "output", "total", "opening",
                                      "slaughter") if rule.get(k)]
        refs += list(rule.get("indicators", ())) + list(rule.get("parts", ()))
        unknown = [r for r in refs if r not in codes]
        if unknown:
            raise ValueError(f"{form.code} rule {rule.get('id')}: unknown indicators {unknown}")


class Catalogue:
    """All versions of all forms."""

    def __init__(self, forms: list[Form]):
        self._forms = {(f.code, f.version): f for f in forms}

    def get(self, code: str, version: int) -> Form | None:
        return self._forms.get((code, version))

    def latest(self, code: str) -> Form | None:
        versions = [v for (c, v) in self._forms if c == code]
        return self._forms[(code, max(versions))] if versions else None

    def codes(self) -> list[str]:
        return sorted({c for c, _ in self._forms})

    def all(self) -> list[Form]:
        return [self._forms[k] for k in sorted(self._forms)]

    def find(self, code: str) -> Indicator | None:
        """An indicator by code in any form (the latest version that has it)."""
        for form in reversed(self.all()):
            ind = form.indicator(code)
            if ind is not None:
                return ind
        return None


@lru_cache(maxsize=1)
def default_catalogue() -> Catalogue:
    """The catalogue shipped as package data in gx_agri/catalogue/."""
    forms = []
    for entry in resources.files("gx_agri.catalogue").iterdir():
        if _FILE_RE.match(entry.name):
            forms.append(parse_form(json.loads(entry.read_text(encoding="utf-8"))))
    return Catalogue(forms)
