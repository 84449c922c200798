"""Statistical division codes (统计用区划代码): pure functions and the Guangxi reference table.

A code has 12 digits ``PP CC DD TTT VVV`` (region, city, county, township, village). The level
of a code is read from its trailing zeros; its jurisdiction prefix is the significant part
(2/4/6/9/12 digits), so "is X inside the jurisdiction of S" is a prefix test.

The trailing-zero rule was verified against every row of ``contracts/reference/guangxi_divisions.csv``
(NBS 2023: 1 region, 14 cities, 111 counties, 1,284 townships, 16,681 villages): ``level_of``
agrees with the CSV's level for all 18,091 rows and every parent is ``ancestor_at`` one level
up. Guangxi has no county-less cities (like 东莞 441900), so no code has a zero segment in the
middle; for such codes elsewhere ``level_of`` still holds but ``ancestor_at(code, county)``
would return the city code.
"""

from __future__ import annotations

import csv
import os
import re
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache
from pathlib import Path

__all__ = [
    "REGION_CODE",
    "Level",
    "Division",
    "is_valid_code",
    "level_of",
    "prefix_of",
    "ancestor_at",
    "contains",
    "reference_csv_path",
    "load_divisions",
]

REGION_CODE = "450000000000"
"""广西壮族自治区 (Guangxi Zhuang Autonomous Region)."""

_CODE_RE = re.compile(r"^[1-9][0-9]{11}$")


class Level(str, Enum):
    """层级：村、乡镇、县、市、自治区（from the bottom of the review chain to the top）."""

    village = "village"
    township = "township"
    county = "county"
    city = "city"
    region = "region"

    @property
    def label_zh(self) -> str:
        return _LABELS[self]

    @property
    def prefix_len(self) -> int:
        """Digits of a code that identify a jurisdiction at this level (2/4/6/9/12)."""
        return _PREFIX_LEN[self]

    @property
    def csv_level(self) -> int:
        """Level number used by the reference CSV (1 province .. 5 village)."""
        return _CSV_LEVEL[self]

    @property
    def rank(self) -> int:
        """0 for village .. 4 for region; higher = closer to the top of the chain."""
        return list(Level).index(self)

    @classmethod
    def from_csv_level(cls, n: int) -> Level:
        return _FROM_CSV[int(n)]


_LABELS = {
    Level.village: "村",
    Level.township: "乡镇",
    Level.county: "县",
    Level.city: "市",
    Level.region: "自治区",
}
_PREFIX_LEN = {Level.region: 2, Level.city: 4, Level.county: 6, Level.township: 9, Level.village: 12}
_CSV_LEVEL = {Level.region: 1, Level.city: 2, Level.county: 3, Level.township: 4, Level.village: 5}
_FROM_CSV = {v: k for k, v in _CSV_LEVEL.items()}
_PREFIX_LENGTHS = frozenset(_PREFIX_LEN.values())


def is_valid_code(s: object) -> bool:
    """True if ``s`` is a 12-digit division code (ASCII digits, not starting with 0)."""
    return isinstance(s, str) and _CODE_RE.fullmatch(s) is not None


def _check(code: str) -> str:
    if not is_valid_code(code):
        raise ValueError(f"统计用区划代码必须是12位数字: {code!r}")
    return code


def level_of(code: str) -> Level:
    """层级 of a 12-digit code, from its trailing zeros."""
    _check(code)
    if code[2:] == "0" * 10:
        return Level.region
    if code[4:] == "0" * 8:
        return Level.city
    if code[6:] == "0" * 6:
        return Level.county
    if code[9:] == "000":
        return Level.township
    return Level.village


def prefix_of(code: str) -> str:
    """管辖前缀: the significant digits of a code (2/4/6/9/12 by level)."""
    return code[: level_of(code).prefix_len]


def ancestor_at(code: str, level: Level | str) -> str:
    """The 12-digit code of the ancestor (or the code itself) at ``level``."""
    level = Level(level)
    own = level_of(code)
    if level.rank < own.rank:
        raise ValueError(f"{code} is a {own.value} code; it has no ancestor at level {level.value}")
    return code[: level.prefix_len].ljust(12, "0")


def contains(scope_code: str, code: str) -> bool:
    """True if ``code`` lies inside the jurisdiction ``scope_code``.

    ``scope_code`` is either a 12-digit division code or a jurisdiction prefix (2/4/6/9 digits).
    """
    if not is_valid_code(code):
        return False
    if is_valid_code(scope_code):
        scope = prefix_of(scope_code)
    elif isinstance(scope_code, str) and len(scope_code) in _PREFIX_LENGTHS and scope_code.isdigit():
        scope = scope_code
    else:
        return False
    return code.startswith(scope)


@dataclass(frozen=True, slots=True)
class Division:
    """区划：一行统计用区划代码."""

    code: str
    name: str
    level: Level
    parent_code: str | None
    urban_rural_code: str | None  # 城乡分类代码 (2016 vintage, indicative only; villages)


def reference_csv_path() -> Path:
    """Path of ``contracts/reference/guangxi_divisions.csv`` (or ``$GX_DIVISIONS_CSV``).

    Found relative to the package (``gx_contracts/../reference``): works for editable installs
    and for images that copy the whole ``contracts/`` directory.
    """
    override = os.environ.get("GX_DIVISIONS_CSV")
    if override:
        return Path(override)
    path = Path(__file__).resolve().parent.parent / "reference" / "guangxi_divisions.csv"
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} not found: copy the whole contracts/ directory (with reference/), "
            "or set GX_DIVISIONS_CSV"
        )
    return path


@lru_cache(maxsize=4)
def _load(path: Path) -> tuple[Division, ...]:
    with path.open(encoding="utf-8", newline="") as f:
        return tuple(
            Division(
                code=row["code"],
                name=row["name"],
                level=Level.from_csv_level(int(row["level"])),
                parent_code=row["parent_code"] or None,
                urban_rural_code=row["urban_rural_code"] or None,
            )
            for row in csv.DictReader(f)
        )


def load_divisions(path: str | Path | None = None) -> dict[str, Division]:
    """All divisions of the reference CSV, by code, in file order (parents before children)."""
    rows = _load(Path(path) if path else reference_csv_path())
    return {d.code: d for d in rows}
