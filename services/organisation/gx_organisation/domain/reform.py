"""改革: the reform's scope and time line as data (桂统字〔2019〕52号), and what follows from it.

Pure. The documents the service knows are JSON files in `gx_organisation/data/`; any later
year is recorded through the API with its own phases and due dates.
"""
from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parent.parent / "data"
DOCUMENTS = {"桂统字〔2019〕52号": "reform_2019.json"}
"""文号 -> packaged scope file."""
BASIS_ZH = {"full_rollout": "全面铺开", "pilot": "改革试点", "city_choice": "市选取试点"}
MODE_ZH = {"dispatched": "派驻", "full_time": "专职", "purchased_service": "购买服务",
           "part_time": "兼职"}
ROLE_ZH = {"county_office_staff": "管理办公室工作人员", "township_statistician": "乡镇统计员",
           "village_coordinator": "村级统计协管员", "grid_worker": "网格员",
           "enterprise_statistician": "企业统计人员"}
OFFICE_ZH = {"county_management": "乡镇（街道）统计工作管理办公室",
             "township_office": "乡镇（街道）统计工作办公室"}


@functools.cache
def _document(file: str) -> str:
    return (DATA / file).read_text(encoding="utf-8")


def document_scope(document_no: str) -> dict[str, Any] | None:
    """The packaged scope of a document (a fresh dict), or None if it is not packaged."""
    file = DOCUMENTS.get(document_no)
    if file is None:
        return None
    data: dict[str, Any] = json.loads(_document(file))
    data.pop("_comment", None)
    return data


def phase_on(phases: Sequence[dict[str, Any]], day: date) -> dict[str, Any] | None:
    """The phase running on `day` (None before the first or after the last)."""
    for ph in phases:
        if date.fromisoformat(str(ph["start"])) <= day <= date.fromisoformat(str(ph["end"])):
            return ph
    return None


def phase_label(phases: Sequence[dict[str, Any]], day: date) -> str:
    """阶段 for people: the running phase, or 未开始 / 已结束."""
    ph = phase_on(phases, day)
    if ph is not None:
        return str(ph["name"])
    if phases and day < date.fromisoformat(str(phases[0]["start"])):
        return "未开始"
    return "已结束" if phases else "—"


def due_dates_with_years(dates: Sequence[str | date], year: int) -> list[date]:
    """The due dates as dates (each inside the reform's year)."""
    out = [d if isinstance(d, date) else date.fromisoformat(d) for d in dates]
    return [d for d in out if d.year == year]


def training_due(level: str, year: int) -> date | None:
    """42号 三(二): the region trains city and county trainers (师资) by 4/30; cities and
    counties train township, village and grid staff by 6/30. None for other levels."""
    if level == "region":
        return date(year, 4, 30)
    if level in ("city", "county"):
        return date(year, 6, 30)
    return None
