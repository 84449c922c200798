"""事后质量抽查 (post-enumeration check): sample, person matching, coverage measures.

Pure: the caller loads the enumeration (the survey's registered persons) and the check
team's independent re-enumeration of the sampled areas, and stores what comes back.

Matching is one-to-one within an area: first on the 公民身份号码, then — for persons left
over — on name + sex + birth year-month, taken only when exactly one candidate is left (two or
more go to a person for review). Every check person gets a recorded decision and reason.
"""
from __future__ import annotations

import random
import secrets
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, NamedTuple

FORMULAS = {
    "omission_rate": "漏登率 = 1 − M / P",
    "erroneous_inclusion_rate": "错误登记率（重复及不应登记）= 1 − CE / E",
    "dse_simple": "双系统估计 N̂ = C · P / M",
    "dse": "双系统估计（剔除错误登记）DSE = (C − II) · (CE / E) · (P / M)",
    "net_coverage_error": "净覆盖误差（净漏登率）= (DSE − C) / DSE",
}
SYMBOLS = {
    "C": "普查（登记）中登记的人数",
    "P": "事后质量抽查中独立登记的人数",
    "M": "两次登记都找到（匹配上）的人数",
    "II": "因信息不全无法匹配的登记记录数",
    "E": "参与核对的登记记录数（C − II）",
    "CE": "其中正确登记的记录数（剔除重复及不应登记）",
}

BY_ID, BY_NAME = "id_number", "name_sex_birth"


@dataclass(frozen=True)
class Sample:
    seed: str
    frame_size: int
    areas: tuple[str, ...]


def draw_sample(area_codes: Iterable[str], size: int, seed: str | None = None) -> Sample:
    """A simple random sample of areas; the same frame and seed always give the same areas
    (the frame is sorted first, so the order it was loaded in does not matter)."""
    frame = sorted(set(area_codes))
    if not 0 < size <= len(frame):
        raise ValueError(f"sample size {size} outside 1..{len(frame)}")
    seed = seed if seed is not None else secrets.token_hex(8)
    drawn = random.Random(f"gx-pes/{seed}").sample(frame, size)
    return Sample(seed, len(frame), tuple(sorted(drawn)))


class PesPerson(NamedTuple):  # tuples: 100,000s are made per check, and cheaply
    record_id: str
    area_code: str
    id_number: str | None
    name: str | None
    sex: str | None
    birth: str | None  # 'YYYY-MM' or 'YYYY-MM-DD'; matched on the year-month


class MatchDecision(NamedTuple):
    check_id: str
    area_code: str
    enumeration_id: str | None
    method: str | None  # id_number | name_sex_birth | None (not matched)
    reason: str


def _id_key(p: PesPerson) -> str | None:
    n = (p.id_number or "").strip().upper()
    return n if len(n) == 18 else None


def _name_key(p: PesPerson) -> tuple[str, str, str] | None:
    name = "".join(unicodedata.normalize("NFKC", p.name or "").split())
    birth = (p.birth or "").strip()[:7]
    if not name or not p.sex or len(birth) < 7:
        return None
    return name, p.sex, birth


@dataclass
class Matching:
    decisions: list[MatchDecision]
    duplicates: set[str]  # enumeration records repeating an earlier one (same ID or name key)
    insufficient: set[str]  # II: enumeration records with neither key

    @property
    def matched(self) -> dict[str, str]:
        return {d.enumeration_id: d.check_id for d in self.decisions if d.enumeration_id}


def match(enumeration: Sequence[PesPerson], check: Sequence[PesPerson]) -> Matching:
    """Hash joins: (area, ID number), then (area, name, sex, birth year-month)."""
    by_id: dict[tuple[str, str], str] = {}
    by_name: dict[tuple[str, ...], list[str]] = defaultdict(list)
    id_of: dict[str, str] = {}
    duplicates: set[str] = set()
    insufficient: set[str] = set()
    for p in enumeration:
        idk, nk = _id_key(p), _name_key(p)
        if idk is None and nk is None:
            insufficient.add(p.record_id)
            continue
        if idk is not None:
            if (p.area_code, idk) in by_id:
                duplicates.add(p.record_id)
                continue
            by_id[(p.area_code, idk)] = p.record_id
            id_of[p.record_id] = idk
        elif nk is not None and (p.area_code, *nk) in by_name:  # no ID: same name, sex, birth
            duplicates.add(p.record_id)
            continue
        if nk is not None:
            by_name[(p.area_code, *nk)].append(p.record_id)

    taken: set[str] = set()
    decisions: list[MatchDecision | None] = [None] * len(check)
    pending: list[int] = []
    for i, q in enumerate(check):
        idk = _id_key(q)
        hit = by_id.get((q.area_code, idk)) if idk else None
        if hit is not None and hit not in taken:
            taken.add(hit)
            decisions[i] = MatchDecision(q.record_id, q.area_code, hit, BY_ID, "公民身份号码一致")
        else:
            pending.append(i)
    for i in pending:
        q = check[i]
        nk = _name_key(q)
        if nk is None:
            decisions[i] = MatchDecision(q.record_id, q.area_code, None, None,
                                         "公民身份号码未匹配，且姓名、性别、出生年月不全，无法匹配")
            continue
        qid = _id_key(q)
        # two different ID numbers are two different persons, however alike otherwise
        free = [r for r in by_name.get((q.area_code, *nk), ())
                if r not in taken and not (qid and id_of.get(r, qid) != qid)]
        if len(free) == 1:
            taken.add(free[0])
            decisions[i] = MatchDecision(q.record_id, q.area_code, free[0], BY_NAME,
                                         "公民身份号码未匹配，姓名、性别、出生年月一致")
        elif free:
            decisions[i] = MatchDecision(q.record_id, q.area_code, None, None,
                                         f"姓名、性别、出生年月一致的登记记录有{len(free)}条，需人工核对")
        else:
            decisions[i] = MatchDecision(q.record_id, q.area_code, None, None,
                                         "登记中未找到此人（可能漏登）")
    return Matching(decisions, duplicates, insufficient)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Coverage:
    """The counts and measures of one area, or of all sampled areas together."""

    area_code: str | None  # None: overall
    C: int
    II: int
    E: int
    CE: int
    P: int
    M: int
    omission_rate: Fraction | None = field(default=None)
    erroneous_inclusion_rate: Fraction | None = None
    dse_simple: Fraction | None = None
    dse: Fraction | None = None
    net_coverage_error: Fraction | None = None

    @classmethod
    def of(cls, area_code: str | None, C: int, II: int, CE: int, P: int, M: int) -> Coverage:
        E = C - II
        omission = 1 - Fraction(M, P) if P else None
        erroneous = 1 - Fraction(CE, E) if E else None
        simple = Fraction(C * P, M) if M else None
        dse = (E * Fraction(CE, E) * Fraction(P, M)) if (M and E) else None
        net = (dse - C) / dse if dse else None
        return cls(area_code, C, II, E, CE, P, M, omission, erroneous, simple, dse, net)

    def as_dict(self, digits: int = 6) -> dict[str, Any]:
        def num(v: Fraction | float | None) -> float | None:
            return None if v is None else round(float(v), digits)
        return {"area_code": self.area_code, "C": self.C, "II": self.II, "E": self.E,
                "CE": self.CE, "P": self.P, "M": self.M,
                **{k: num(getattr(self, k)) for k in FORMULAS}}


def coverage(enumeration: Sequence[PesPerson], check: Sequence[PesPerson], m: Matching,
             erroneous: Iterable[str] = ()) -> tuple[list[Coverage], Coverage]:
    """Per-area and overall measures for the sampled areas (the check's areas).

    `erroneous`: enumeration records the follow-up found should not have been counted
    (died before, or born after, the reference time; not resident…), besides duplicates.
    A check person matched only to an erroneous record does not count in M.
    """
    areas = {q.area_code for q in check}
    bad = (set(erroneous) | m.duplicates) - m.insufficient
    counts: dict[str, list[int]] = {a: [0, 0, 0, 0, 0] for a in areas}  # C II CE P M
    for p in enumeration:
        if p.area_code in counts:
            row = counts[p.area_code]
            row[0] += 1
            if p.record_id in m.insufficient:
                row[1] += 1
            elif p.record_id not in bad:
                row[2] += 1
    for q in check:
        counts[q.area_code][3] += 1
    for d in m.decisions:
        if d.enumeration_id and d.enumeration_id not in bad:
            counts[d.area_code][4] += 1
    per_area = [Coverage.of(a, *counts[a]) for a in sorted(areas)]
    total = [sum(col) for col in zip(*counts.values())] if counts else [0] * 5
    return per_area, Coverage.of(None, *total)


def formulas_text() -> str:
    """The formulas and symbols, as printed under the results table."""
    lines = [f"{v}" for v in FORMULAS.values()]
    lines += [f"{k}：{v}" for k, v in SYMBOLS.items()]
    return "\n".join(lines)
