"""The household and person forms of the population change survey, as versioned data.

A form version is a JSON file in gx_population/forms/ (fields, code lists, rules); this module
loads it, applies its field and cross rules to one household, and renders the read-back text.
Rule kinds are named here (`CHECKS`); which apply, and how severe they are, is the file's.
Severity `error` blocks submit; `warning` is shown and must be confirmed or corrected.
Messages name the field and the person by position (第N人), never echo personal data.
"""
from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from gx_population.domain import idnumber

FORMS_DIR = Path(__file__).resolve().parent.parent / "forms"
HEAD = "0"
_YM = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


@dataclass(frozen=True)
class Field:
    code: str
    label: str
    type: str  # text | int | code | year_month | id_number
    required: bool = False
    codes: str | None = None
    min: int | None = None
    max: int | None = None
    max_length: int | None = None
    pattern: str | None = None
    identifying: bool = False


@dataclass(frozen=True)
class Finding:
    rule_id: str
    severity: str  # error | warning
    field: str  # household.births_male, persons[2].id_number
    message: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Form:
    form_id: str
    version: str
    title: str
    reference: dt.date  # the day whose 0:00 is the reference time
    past_year: tuple[str, str]  # year-months, inclusive
    codes: Mapping[str, Mapping[str, str]]
    household: tuple[Field, ...]
    person: tuple[Field, ...]
    rules: tuple[Mapping[str, Any], ...]

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Form:
        ref = dt.datetime.fromisoformat(d["reference_time"]).date()
        return cls(d["form_id"], d["version"], d["title"], ref,
                   (d["past_year"]["from"], d["past_year"]["to"]), d["codes"],
                   tuple(Field(**f) for f in d["household"]),
                   tuple(Field(**f) for f in d["person"]), tuple(d["rules"]))

    def field(self, code: str) -> Field:
        return next(f for f in (*self.household, *self.person) if f.code == code)

    @property
    def identifying_fields(self) -> tuple[str, ...]:
        return tuple(f.code for f in self.person if f.identifying)

    def word(self, f: Field, value: Any) -> str:
        """A value as the respondent hears it: code lists as words, 出生年月 as 1990年1月."""
        if value is None or value == "":
            return "未填"
        if f.type == "code" and f.codes is not None:
            return self.codes[f.codes].get(str(value), f"未知代码{value}")
        if f.type == "year_month" and _YM.match(str(value)):
            y, m = str(value).split("-")
            return f"{y}年{int(m)}月"
        if f.type == "int":
            return f"{value}人" if "人" in f.label else str(value)
        return str(value)


def available_versions() -> list[str]:
    return sorted(p.stem.split("_")[-1] for p in FORMS_DIR.glob("population_change_*.json"))


@lru_cache(maxsize=8)
def load_form(version: str | None = None) -> Form:
    version = version or available_versions()[-1]
    path = FORMS_DIR / f"population_change_{version}.json"
    if not path.is_file():
        raise KeyError(f"no population form version {version}")
    return Form.from_dict(json.loads(path.read_text(encoding="utf-8")))


def age_at(birth_year_month: str, reference: dt.date) -> int:
    """Completed years at the reference date from 'YYYY-MM' (counted from the month's 1st)."""
    y, m = (int(x) for x in birth_year_month.split("-")[:2])
    return reference.year - y - (1 if (reference.month, reference.day) < (m, 1) else 0)


# -- field rules ----------------------------------------------------------------------------
def _field_findings(form: Form, f: Field, value: Any, path: str, who: str) -> Iterator[Finding]:
    def bad(msg: str) -> Finding:
        return Finding(f"F:{f.code}", "error", path, f"{who}{f.label}{msg}")

    if value is None or value == "":
        if f.required:
            yield bad("未填写")
        return
    if f.type == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            yield bad("应为整数")
        elif (f.min is not None and value < f.min) or (f.max is not None and value > f.max):
            yield bad(f"应在{f.min}～{f.max}之间")
    elif f.type == "code":
        if f.codes is None or str(value) not in form.codes[f.codes]:
            yield bad("不是有效的代码")
    elif f.type == "year_month":
        if not isinstance(value, str) or not _YM.match(value):
            yield bad("应为“年-月”，如 1990-01")
    elif not isinstance(value, str):
        yield bad("应为文字")
    elif f.max_length and len(value) > f.max_length:
        yield bad(f"不能超过{f.max_length}个字")
    elif f.pattern and not re.match(f.pattern, value):
        yield bad("格式不正确")


# -- cross rules ----------------------------------------------------------------------------
@dataclass
class _Ctx:
    form: Form
    household: Mapping[str, Any]
    persons: Sequence[Mapping[str, Any]]

    def ym(self, p: Mapping[str, Any]) -> str | None:
        v = p.get("birth_year_month")
        return v if isinstance(v, str) and _YM.match(v) else None

    def age(self, p: Mapping[str, Any]) -> int | None:
        v = self.ym(p)
        return age_at(v, self.form.reference) if v else None

    def parsed_id(self, p: Mapping[str, Any]) -> idnumber.IdNumber | None:
        try:
            return idnumber.parse(p["id_number"]) if p.get("id_number") else None
        except idnumber.IdNumberError:
            return None


Check = Callable[[_Ctx, Mapping[str, Any]], Iterator[tuple[str, str]]]
CHECKS: dict[str, Check] = {}


def check(name: str) -> Callable[[Check], Check]:
    def register(fn: Check) -> Check:
        CHECKS[name] = fn
        return fn
    return register


def _who(i: int) -> str:
    return f"第{i + 1}人"


def _each(ctx: _Ctx) -> Iterator[tuple[int, Mapping[str, Any]]]:
    return enumerate(ctx.persons)


@check("id_number_valid")
def _id_valid(ctx: _Ctx, rule: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    for i, p in _each(ctx):
        if p.get("id_number"):
            try:
                idnumber.parse(p["id_number"])
            except idnumber.IdNumberError as e:
                yield f"persons[{i}].id_number", f"{_who(i)}{e.message}"


@check("id_birth_agrees")
def _id_birth(ctx: _Ctx, rule: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    for i, p in _each(ctx):
        n, ym = ctx.parsed_id(p), ctx.ym(p)
        if n and ym and f"{n.birth_date:%Y-%m}" != ym:
            yield (f"persons[{i}].birth_year_month",
                   f"{_who(i)}出生年月与公民身份号码中的出生日期不一致")


@check("id_sex_agrees")
def _id_sex(ctx: _Ctx, rule: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    for i, p in _each(ctx):
        n = ctx.parsed_id(p)
        if n and p.get("sex") in ("1", "2") and n.sex != p["sex"]:
            yield f"persons[{i}].sex", f"{_who(i)}性别与公民身份号码中的性别（顺序码奇男偶女）不一致"


@check("id_address_known")
def _id_address(ctx: _Ctx, rule: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    for i, p in _each(ctx):
        if ctx.parsed_id(p) and not idnumber.address_known(p["id_number"]):
            yield f"persons[{i}].id_number", f"{_who(i)}公民身份号码前6位不是已知的行政区划代码，请核对"


@check("id_unique_in_household")
def _id_unique(ctx: _Ctx, rule: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    seen: dict[str, int] = {}
    for i, p in _each(ctx):
        n = idnumber.compact(p.get("id_number") or "")
        if n in seen:
            yield f"persons[{i}].id_number", f"{_who(i)}与{_who(seen[n])}的公民身份号码相同"
        elif n:
            seen[n] = i


@check("id_missing_adult")
def _id_missing(ctx: _Ctx, rule: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    for i, p in _each(ctx):
        age = ctx.age(p)
        if not p.get("id_number") and age is not None and age >= rule["min_age"]:
            yield f"persons[{i}].id_number", f"{_who(i)}已满{rule['min_age']}周岁，公民身份号码未填写"


@check("household_size_matches")
def _size(ctx: _Ctx, rule: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    n = ctx.household.get("persons_at_reference")
    if isinstance(n, int) and n != len(ctx.persons):
        yield ("household.persons_at_reference",
               f"本户人数填报为{n}人，但登记了{len(ctx.persons)}人的个人信息")


@check("one_head")
def _one_head(ctx: _Ctx, rule: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    if rule.get("household_type") and ctx.household.get("household_type") != rule["household_type"]:
        return
    heads = [i for i, p in _each(ctx) if str(p.get("relationship")) == HEAD]
    if len(heads) != 1:
        yield ("persons.relationship",
               f"家庭户应有且只有一位户主（与户主关系为“户主”），现有{len(heads)}位")


@check("born_before_reference")
def _born_before(ctx: _Ctx, rule: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    last = ctx.form.past_year[1]
    for i, p in _each(ctx):
        ym = ctx.ym(p)
        if ym and ym > last:
            yield f"persons[{i}].birth_year_month", f"{_who(i)}出生年月晚于调查标准时点"


def _babies(ctx: _Ctx, sex: str) -> int:
    lo, hi = ctx.form.past_year
    return sum(1 for p in ctx.persons
               if p.get("sex") == sex and (ym := ctx.ym(p)) and lo <= ym <= hi)


_SEXES = (("1", "male", "男"), ("2", "female", "女"))


@check("births_cover_babies")
def _births_cover(ctx: _Ctx, rule: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    for code, key, word in _SEXES:
        births, babies = ctx.household.get(f"births_{key}"), _babies(ctx, code)
        if isinstance(births, int) and births < babies:
            yield (f"household.births_{key}",
                   f"过去一年出生人口（{word}）填报{births}人，少于本户登记的过去一年出生的{word}性{babies}人")


@check("births_beyond_babies_and_deaths")
def _births_beyond(ctx: _Ctx, rule: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    for code, key, word in _SEXES:
        births, deaths = ctx.household.get(f"births_{key}"), ctx.household.get(f"deaths_{key}")
        babies = _babies(ctx, code)
        if isinstance(births, int) and isinstance(deaths, int) and births > babies + deaths:
            yield (f"household.births_{key}",
                   f"过去一年出生人口（{word}）{births}人，多于登记在户的{babies}人与死亡{deaths}人之和，请核实")


@check("left_reason_when_left")
def _left_reason(ctx: _Ctx, rule: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    for i, p in _each(ctx):
        left, reason = str(p.get("left_registration_time") or ""), p.get("left_registration_reason")
        if left and left != "1" and not reason:
            yield f"persons[{i}].left_registration_reason", f"{_who(i)}已离开户口登记地，离开原因未填写"
        elif left == "1" and reason:
            yield f"persons[{i}].left_registration_reason", f"{_who(i)}没有离开户口登记地，不应填写离开原因"


@check("education_for_age")
def _edu_age(ctx: _Ctx, rule: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    for i, p in _each(ctx):
        age = ctx.age(p)
        if age is not None and age < rule["min_age"] and str(p.get("education") or "") > "2":
            yield f"persons[{i}].education", f"{_who(i)}不满{rule['min_age']}周岁，受教育程度偏高，请核实"


@check("education_required")
def _edu_required(ctx: _Ctx, rule: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    for i, p in _each(ctx):
        age = ctx.age(p)
        if age is not None and age >= rule["min_age"] and not p.get("education"):
            yield f"persons[{i}].education", f"{_who(i)}已满{rule['min_age']}周岁，受教育程度未填写"


@check("child_younger_than_head")
def _child_age(ctx: _Ctx, rule: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    head = next((p for p in ctx.persons if str(p.get("relationship")) == HEAD), None)
    head_ym = ctx.ym(head) if head else None
    for i, p in _each(ctx):
        ym = ctx.ym(p)
        if head_ym and ym and str(p.get("relationship")) == "2" and ym <= head_ym:
            yield f"persons[{i}].birth_year_month", f"{_who(i)}为户主的子女，但不比户主年轻，请核实"


@check("head_age")
def _head_age(ctx: _Ctx, rule: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    for i, p in _each(ctx):
        age = ctx.age(p)
        if str(p.get("relationship")) == HEAD and age is not None and age < rule["min_age"]:
            yield f"persons[{i}].relationship", f"{_who(i)}为户主，但不满{rule['min_age']}周岁，请核实"


def validate(form: Form, household: Mapping[str, Any],
             persons: Sequence[Mapping[str, Any]]) -> list[Finding]:
    """Every finding for one household: field rules first, then the form's cross rules."""
    out: list[Finding] = []
    for f in form.household:
        out += _field_findings(form, f, household.get(f.code), f"household.{f.code}", "")
    for i, p in enumerate(persons):
        for f in form.person:
            out += _field_findings(form, f, p.get(f.code), f"persons[{i}].{f.code}", _who(i))
    ctx = _Ctx(form, household, persons)
    for rule in form.rules:
        for path, message in CHECKS[rule["check"]](ctx, rule):
            out.append(Finding(rule["id"], rule["severity"], path, message))
    return out


def blocking(findings: Sequence[Finding]) -> list[Finding]:
    return [f for f in findings if f.severity == "error"]


def readback(form: Form, household: Mapping[str, Any], persons: Sequence[Mapping[str, Any]],
             *, mask_id_number: bool = False) -> str:
    """Everything entered, in plain words, as read to the respondent before submit."""
    lines = [f"{form.title}（{form.version}版）", "【户信息】"]
    lines += [f"{f.label}：{form.word(f, household.get(f.code))}" for f in form.household]
    for i, p in enumerate(persons):
        lines.append(f"【{_who(i)}】")
        for f in form.person:
            v = p.get(f.code)
            if f.type == "id_number" and v and mask_id_number:
                v = idnumber.mask(v)
            lines.append(f"{f.label}：{form.word(f, v)}")
    return "\n".join(lines)
