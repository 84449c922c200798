"""Department records (部门资料): column mappings as versioned data, and per-row checks (pure).

A mapping file `mappings/<slug>.v<N>.json` names, per register field, the headers a department
uses. `check_row` turns one row into a clean record or a list of errors (row, field, Chinese
reason); code problems that do not make the value wrong (a USCC division that disagrees with the
address) are flags kept with the record.
"""
from __future__ import annotations

import json
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from gx_contracts.divisions import is_valid_code

from gx_registry.domain.codes import validate_registration_number, validate_uscc

MAPPINGS_DIR = Path(__file__).resolve().parent.parent / "mappings"
FIELDS = ("uscc", "name", "reg_no", "address", "legal_rep", "status", "phone",
          "industry_code", "division_code")
FIELD_ZH = {"uscc": "统一社会信用代码", "name": "单位详细名称", "reg_no": "注册号",
            "address": "详细地址", "legal_rep": "法定代表人（单位负责人）", "status": "运营状态",
            "phone": "联系电话", "industry_code": "行业代码", "division_code": "区划代码",
            "file": "文件"}
MAX_LEN = {"uscc": 18, "name": 200, "reg_no": 15, "address": 300, "legal_rep": 50,
           "status": 20, "phone": 40, "industry_code": 4, "division_code": 12}
# 运营状态 1–7 and 9 (6 当年注销 was once missing here: every 注销 row was refused)
STATUS_CODES = frozenset("12345679")


@dataclass(frozen=True, slots=True)
class Mapping_:
    department: str
    version: int
    columns: Mapping[str, tuple[str, ...]]
    required: tuple[str, ...]
    status_values: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class RowError:
    row_no: int
    field: str  # register field code, or "file"
    code: str
    reason: str
    value: str | None = None

    @property
    def field_zh(self) -> str:
        return FIELD_ZH.get(self.field, self.field)


@dataclass(slots=True)
class Checked:
    row_no: int
    record: dict[str, str | None] = field(default_factory=dict)
    errors: list[RowError] = field(default_factory=list)
    flags: list[dict[str, str]] = field(default_factory=list)


def header_key(h: str) -> str:
    return "".join(unicodedata.normalize("NFKC", h or "").split())


@cache
def all_mappings() -> tuple[Mapping_, ...]:
    out = []
    for path in sorted(MAPPINGS_DIR.glob("*.v*.json")):
        d = json.loads(path.read_text(encoding="utf-8"))
        out.append(Mapping_(d["department"], int(d["version"]),
                            {k: tuple(v) for k, v in d["columns"].items()},
                            tuple(d.get("required", ["name"])), dict(d.get("status_values", {}))))
    return tuple(out)


def departments() -> list[str]:
    return sorted({m.department for m in all_mappings()})


def mapping_for(department: str, version: int | None = None) -> Mapping_ | None:
    """The department's mapping (latest version unless one is named)."""
    found = [m for m in all_mappings() if m.department == department
             and (version is None or m.version == version)]
    return max(found, key=lambda m: m.version) if found else None


def resolve_headers(mapping: Mapping_, header: Sequence[str]) -> tuple[dict[str, int], list[str]]:
    """Register field -> column index; and the required fields no header matched."""
    keys = [header_key(h) for h in header]
    found: dict[str, int] = {}
    for f, names in mapping.columns.items():
        for name in names:
            k = header_key(name)
            if k in keys:
                found[f] = keys.index(k)
                break
    return found, [f for f in mapping.required if f not in found]


def _clean(v: Any) -> str | None:
    if v is None:
        return None
    s = str(v).strip().replace("\u3000", " ")
    return s or None


def check_row(mapping: Mapping_, columns: Mapping[str, int], row_no: int,
              cells: Sequence[Any]) -> Checked:
    """Validate one data row; `row_no` counts the header as row 1."""
    out = Checked(row_no)
    for f, i in columns.items():
        out.record[f] = _clean(cells[i]) if i < len(cells) else None
    rec = out.record
    for f, value in rec.items():
        if value is None:
            continue
        if "\x00" in value:
            out.errors.append(RowError(row_no, f, "text.nul", f"{FIELD_ZH[f]}含有空字符（NUL）"))
            rec[f] = None
        elif len(value) > MAX_LEN.get(f, 200):
            out.errors.append(RowError(row_no, f, "text.too_long",
                                       f"{FIELD_ZH[f]}过长（至多{MAX_LEN.get(f, 200)}字，实际{len(value)}字）",
                                       value[:50]))
    for f in mapping.required:
        if not rec.get(f):
            out.errors.append(RowError(row_no, f, "required", f"{FIELD_ZH[f]}为空"))
    _check_codes(mapping, out)
    return out


def _check_codes(mapping: Mapping_, out: Checked) -> None:
    rec, row_no = out.record, out.row_no
    div = rec.get("division_code")
    if div and not (is_valid_code(div)):
        out.errors.append(RowError(row_no, "division_code", "division.format",
                                   "区划代码应为12位数字", div))
        div = rec["division_code"] = None
    if rec.get("uscc"):
        result = validate_uscc(rec["uscc"], div)
        rec["uscc"] = result.value
        for p in result.problems:
            if p.severity == "error":
                out.errors.append(RowError(row_no, "uscc", p.code, p.message, result.value))
            else:
                out.flags.append(p.as_dict())
    for p in validate_registration_number(rec.get("reg_no"), div):
        if p.severity == "error":
            out.errors.append(RowError(row_no, "reg_no", p.code, p.message, rec.get("reg_no")))
        else:
            out.flags.append(p.as_dict())
    status = rec.get("status")
    if status:
        code = mapping.status_values.get(header_key(status), status)
        if code not in STATUS_CODES:
            out.errors.append(RowError(row_no, "status", "status.unknown",
                                       f"运营状态“{status}”无法识别（应为存续、停业、注销、吊销……或代码1–7、9）",
                                       status))
            rec["status"] = None
        else:
            rec["status"] = code
    ind = rec.get("industry_code")
    if ind and not (ind.isdigit() and len(ind) in (2, 3, 4)):
        out.errors.append(RowError(row_no, "industry_code", "industry.format",
                                   "行业代码应为GB/T 4754-2017的2–4位数字", ind))
