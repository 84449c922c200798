"""机内审核: the validation rules of a form, applied to one report's values.

Rules are data (the `rules` list of a catalogue form). Severity `error` blocks submit;
`warning` must be corrected or explained (an explanation keyed by the rule's indicator).
"""
from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

from gx_agri.domain.catalogue import Form, Indicator
from gx_agri.domain.numbers import as_decimal, quantized

Values = Mapping[str, float | int | None]
Rule = Mapping[str, Any]
Findings = Iterator[tuple[str, str]]  # (indicator, Chinese message)
Check = Callable[[Form, Rule, Values, Values | None, str | None], Findings]


@dataclass(frozen=True)
class Finding:
    """一条审核结果."""

    rule_id: str
    kind: str
    severity: str  # error | warning
    indicator: str  # the indicator to correct or explain
    message: str
    explained: bool = False

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def fmt(v: float | int | Decimal | None) -> str:
    """A number as people write it: no trailing zeros, no exponent."""
    if v is None:
        return "空"
    d = Decimal(str(v))
    if d.is_finite() and d.adjusted() >= 20:
        return f"{d:.6E}"
    return format(d.normalize(), "f")


def _indicator(form: Form, code: str) -> Indicator:
    """A rule's indicator: the catalogue checks at load time that every one exists."""
    ind = form.indicator(code)
    if ind is None:
        raise KeyError(code)
    return ind


def _label(form: Form, code: str) -> str:
    ind = form.indicator(code)
    return ind.label if ind else code


def range_message(ind: Indicator, value: Decimal) -> str:
    return (f"{ind.label}超出取值范围 {fmt(ind.min)}～{fmt(ind.max)}，填报值为 {fmt(value)}")


def out_of_range(form: Form, values: Values) -> dict[str, str]:
    """指标代码 -> message, for stored values outside the indicator's physical range."""
    out = {}
    for ind in form.indicators:
        v = as_decimal(values.get(ind.code))
        if v is not None and not ind.in_range(v):
            out[ind.code] = range_message(ind, v)
    return out


def input_problems(form: Form, values: Values, explanations: Mapping[str, str]) -> list[tuple[str, str]]:
    """(field, Chinese message) for values the form cannot hold: unknown codes, types, range, decimals."""
    problems: list[tuple[str, str]] = []
    for code, value in values.items():
        ind, d = form.indicator(code), as_decimal(value)
        if ind is None:
            problems.append((f"values.{code}", f"报表 {form.code} 没有指标代码“{code}”"))
        elif value is not None and (isinstance(value, bool) or d is None):
            problems.append((f"values.{code}", f"{_label(form, code)}应为数字"))
        elif d is not None and not ind.in_range(d):
            problems.append((f"values.{code}", range_message(ind, d)))
        elif value is not None and ind.type == "integer" and float(value) != int(value):
            problems.append((f"values.{code}", f"{_label(form, code)}应为整数，填报值为 {fmt(value)}"))
        elif d is not None and -int(d.as_tuple().exponent) > max(ind.decimals, 0):
            problems.append((f"values.{code}",
                             f"{_label(form, code)}最多保留 {ind.decimals} 位小数，填报值为 {fmt(value)}"))
    for code in explanations:
        if form.indicator(code) is None:
            problems.append((f"explanations.{code}", f"报表 {form.code} 没有指标代码“{code}”"))
    return problems


def validate(form: Form, values: Values, explanations: Mapping[str, str] | None = None,
             previous: Values | None = None, previous_period: str | None = None) -> list[Finding]:
    """Apply every rule of the form; `previous` = the village's last accepted values (if any)."""
    explanations = explanations or {}
    # out-of-range values (stored before ranges existed) are errors of their own, and the
    # other rules see them as absent: their arithmetic never meets an absurd number
    bad = out_of_range(form, values)
    findings = [Finding(f"{form.code}-RANGE", "physical_range", "error", code, message)
                for code, message in bad.items()]
    values = {k: v for k, v in values.items() if k not in bad}
    if previous:
        previous = {k: v for k, v in previous.items() if k not in out_of_range(form, previous)}
    for rule in form.rules:
        check = _CHECKS[rule["kind"]]
        for indicator, message in check(form, rule, values, previous, previous_period):
            if indicator in bad:
                continue
            explained = rule["severity"] == "warning" and bool(explanations.get(indicator, "").strip())
            findings.append(Finding(rule.get("id", ""), rule["kind"], rule["severity"], indicator,
                                    message, explained))
    return findings


def blocking(findings: list[Finding]) -> list[Finding]:
    """What stops a submit: every error, and every warning nobody explained."""
    return [f for f in findings if f.severity == "error" or not f.explained]


def _num(values: Values, code: str) -> Decimal | None:
    return as_decimal(values.get(code))


def _required(form: Form, rule: Rule, values: Values, previous: Values | None,
              period: str | None) -> Findings:
    for code in rule["indicators"]:
        if values.get(code) is None:
            yield code, f"{_label(form, code)}为必填项，未填报（没有请填 0）"


def _range(form: Form, rule: Rule, values: Values, previous: Values | None,
           period: str | None) -> Findings:
    code = rule["indicator"]
    v = _num(values, code)
    lo, hi = rule.get("min"), rule.get("max")
    if v is None:
        return
    if lo is not None and v < Decimal(str(lo)):
        yield code, f"{_label(form, code)}为 {fmt(v)}，低于下限 {fmt(lo)}"
    elif hi is not None and v > Decimal(str(hi)):
        yield code, f"{_label(form, code)}为 {fmt(v)}，超过上限 {fmt(hi)}"


def _kg_factor(form: Form, code: str) -> Decimal:
    ind = form.indicator(code)
    return Decimal(1000) if ind and ind.unit == "吨" else Decimal(1)


def _yield_band(form: Form, rule: Rule, values: Values, previous: Values | None,
                period: str | None) -> Findings:
    """产量 ≈ 播种面积 × 常年单产: output must lie in a band around area × typical yield."""
    area_code, out_code = rule["area"], rule["output"]
    area, output = _num(values, area_code), _num(values, out_code)
    if area is None or output is None:
        return
    typical = Decimal(str(rule["typical_yield_per_mu"]))
    unit = _indicator(form, out_code).unit
    if area == 0:
        if output > 0:
            yield out_code, (f"{_label(form, area_code)}为 0，但{_label(form, out_code)}为 "
                             f"{fmt(output)}：无播种面积不应有产量")
        return
    lo, hi = (Decimal(str(b)) for b in rule["band"])
    expected = area * typical
    low, high = quantized(expected * lo, 2), quantized(expected * hi, 2)
    if not low <= output <= high:
        per_mu = quantized(output * _kg_factor(form, out_code) / area, 1)
        yield out_code, (f"{_label(form, out_code)}为 {fmt(output)}，按{_label(form, area_code)} "
                         f"{fmt(area)} × 常年单产 {fmt(typical)} {unit}/亩 推算应在 {fmt(low)}～"
                         f"{fmt(high)} {unit} 之间（折合单产 {fmt(per_mu)} 公斤/亩）")


def _sum(form: Form, rule: Rule, values: Values, previous: Values | None,
         period: str | None) -> Findings:
    """分项之和不得大于合计."""
    total_code = rule["total"]
    total = _num(values, total_code)
    parts = [(c, _num(values, c)) for c in rule["parts"]]
    filled = [(c, v) for c, v in parts if v is not None]
    if total is None or not filled:
        return
    s = sum((v for _, v in filled), Decimal(0))
    if s > total:
        names = "、".join(_indicator(form, c).name for c, _ in filled)
        yield total_code, (f"{_label(form, total_code)}为 {fmt(total)}，小于其分项（{names}）"
                           f"之和 {fmt(s)}")


def _year_on_year(form: Form, rule: Rule, values: Values, previous: Values | None,
                  period: str | None) -> Findings:
    """与本村上期（已验收）相比增减幅度."""
    if not previous:
        return
    limit = Decimal(str(rule["max_change"]))
    for code in rule["indicators"]:
        now, before = _num(values, code), _num(previous, code)
        if now is None or before is None or before == 0:
            continue
        change = (now - before) / before
        if abs(change) > limit:
            pct = quantized(change * 100, 1)
            yield code, (f"{_label(form, code)}为 {fmt(now)}，比上期（{period or '已验收'}）"
                         f"{fmt(before)} {'增长' if change > 0 else '下降'} {fmt(abs(pct))}%，"
                         f"超过 ±{fmt(limit * 100)}%")


def _livestock_balance(form: Form, rule: Rule, values: Values, previous: Values | None,
                       period: str | None) -> Findings:
    """出栏 vs 期初存栏: slaughter far above the opening inventory needs a reason."""
    opening, slaughter = _num(values, rule["opening"]), _num(values, rule["slaughter"])
    if opening is None or slaughter is None:
        return
    ratio = Decimal(str(rule["max_ratio"]))
    if slaughter > opening * ratio:
        yield rule["slaughter"], (f"{_label(form, rule['slaughter'])}为 {fmt(slaughter)}，超过"
                                  f"{_label(form, rule['opening'])} {fmt(opening)} 的 {fmt(ratio)} 倍"
                                  f"（{fmt(opening * ratio)}）")


_CHECKS: dict[str, Check] = {
    "required": _required, "range": _range, "yield_band": _yield_band, "sum": _sum,
    "year_on_year": _year_on_year, "livestock_balance": _livestock_balance,
}
