"""What printed forms and exported files share: the catalogue's form header (表号, 制定机关 …),
local dates, people as 姓名（角色 · 区划）, and Chinese file names."""
from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta, timezone
from functools import lru_cache
from importlib import resources

from gx_contracts.divisions import Level
from gx_contracts.roles import Role

from gx_agri.adapters import pdf
from gx_agri.domain.catalogue import Form

CST = timezone(timedelta(hours=8))  # 北京时间: dates on paper are local dates


@lru_cache(maxsize=16)
def header(code: str, version: int) -> pdf.Header:
    """The form's header block as the catalogue gives it (defaults when it gives none)."""
    try:
        raw = json.loads(resources.files("gx_agri.catalogue").joinpath(
            f"{code}.v{version}.json").read_text(encoding="utf-8")).get("header") or {}
    except FileNotFoundError:
        raw = {}
    return pdf.Header(table_no=raw.get("table_no") or f"{code}表",
                      issuer=raw.get("issuer") or "广西壮族自治区统计局",
                      approver=raw.get("approver", ""), approval_no=raw.get("approval_no", ""),
                      valid_until=raw.get("valid_until", ""))


def local(at: datetime | str | None) -> datetime:
    if isinstance(at, str):
        at = datetime.fromisoformat(at)
    return (at or datetime.now(UTC)).astimezone(CST)


def date_zh(at: datetime | str | None) -> str:
    d = local(at)
    return f"{d.year}年{d.month}月{d.day}日"


def person(name: str | None, role: str | None, division_name: str | None) -> str:
    """姓名（角色 · 区划）: never a user id alone when a name is known."""
    try:
        role_zh = Role(role).label_zh if role else ""
    except ValueError:
        role_zh = role or ""
    extra = " · ".join(x for x in (role_zh, division_name) if x)
    return f"{name or '—'}（{extra}）" if extra else (name or "—")


_UNSAFE = re.compile(r'[\\/:*?"<>|\s]+')


def file_name(*parts: str) -> str:
    """青秀区_2026年早稻_已验收: parts joined, without characters file systems refuse."""
    return "_".join(_UNSAFE.sub("", p) for p in parts if p)


def period_zh(form: Form, period: str) -> str:
    return form.period_name(period) or period


# 口径: the same definitions as the console's progress (workflow's PROGRESS_BASIS) and every
# export; a total on paper always says which reports it adds up.
COUNTS = (("not_started", "未报"), ("returned", "退回"), ("submitted", "审核中"),
          ("accepted", "已验收"), ("confirmed", "已确认"))


def basis_zh(basis: str, level: Level | None = None) -> str:
    """Which reports a total adds up, in words (口径)."""
    if basis == "approved":
        by = f"经{level.label_zh}" if level is not None else "经本级"
        return f"{by}审核通过（含以上）的村级报表（尚待{by[1:]}审核的不计入）"
    return "已报（审核中 + 已验收 + 已确认）的村级报表（退回和草稿不计入）"


def counts_zh(progress: dict[str, int]) -> str:
    """应报 = 未报 + 退回 + 审核中 + 已验收 + 已确认 (草稿 counted in 未报), with the numbers."""
    n = {k: progress.get(k, 0) for k, _ in COUNTS}
    n["not_started"] += progress.get("draft", 0)
    expected = sum(n.values())
    done = n["submitted"] + n["accepted"] + n["confirmed"]
    parts = " + ".join(f"{zh} {n[k]}" for k, zh in COUNTS)
    draft = f"（未报含草稿 {progress['draft']} 份）" if progress.get("draft") else ""
    return f"应报 {expected} = {parts}{draft}；已报 {done} = 审核中 + 已验收 + 已确认"
