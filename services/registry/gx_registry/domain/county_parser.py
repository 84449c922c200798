"""County from a detailed address by the Chinese address parser cpca (0.5.5, pinned), with an
overlay for the 2018–2021 renames its data misses (pure: cpca reads only its packaged data).

cpca knows the old names (横县, 平果县, 荔浦县, 田阳县) under their old codes and not the new
names at all (横州市, 平果市, 荔浦市, 田阳区: it stops at the city). The overlay maps the old
codes to the current ones; a county cpca cannot name is left to our own matcher
(`placement._find_county`), which knows the current tree. Every answer names the rule that
fired, kept in the record's placement.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

CPCA_RENAMES = {"450127": "450181", "451023": "451082", "450331": "450381", "451021": "451003"}
"""cpca's code of a renamed county (横县, 平果县, 荔浦县, 田阳县) -> its current code
(横州市 2021, 平果市 2019, 荔浦市 2018, 田阳区 2019; REGISTRY-FACTS, guangxi_divisions.csv)."""
GUANGXI = "45"


@dataclass(frozen=True, slots=True)
class ParsedCounty:
    code: str | None  # 12-digit county code, or None (not found by the parser)
    end: int  # position in the address after the county name (or after the city, if only that)
    city: str | None  # 12-digit city code the parser saw, if any
    rule: str  # cpca.county | cpca.county+rename | cpca.city_only | cpca.none | cpca.outside


@cache
def _parser() -> Callable[[str, bool, dict[str, str]], dict[str, Any]]:
    import cpca  # type: ignore[import-untyped]  # no type information shipped

    # The per-address function behind cpca.transform, without a pandas frame per address
    # (15 µs an address against ~1 ms); pinned cpca==0.5.5 (tests/registry/test_placement.py).
    fn: Callable[[str, bool, dict[str, str]], dict[str, Any]] = cpca._get_one_addr
    return fn


def parse_county(address: str, known: Callable[[str], bool],
                 umap: dict[str, str] | None = None) -> ParsedCounty:
    """The county cpca finds in ``address`` (already NFKC-cleaned), mapped to a current code.

    ``known(code12)`` says whether a code is in our division tree; ``umap`` (county name ->
    6-digit code) chooses among same-named districts elsewhere in China (城中区…)."""
    if not address:
        return ParsedCounty(None, 0, None, "cpca.none")
    r = _parser()(address, True, umap or {})
    adcode = r.get("adcode")
    rest = r.get("地址") or ""
    end = len(address) - len(rest)
    if not adcode:
        return ParsedCounty(None, 0, None, "cpca.none")
    if not adcode.startswith(GUANGXI):
        return ParsedCounty(None, 0, None, "cpca.outside")
    city = adcode[:4] + "00000000" if adcode[2:4] != "00" else None
    if r.get("区") is None:  # stopped at the city (or province): a renamed county, or none
        return ParsedCounty(None, end, city if city and known(city) else None, "cpca.city_only")
    rule = "cpca.county"
    if adcode in CPCA_RENAMES:
        adcode, rule = CPCA_RENAMES[adcode], "cpca.county+rename"
    code = adcode + "000000"
    if not known(code):
        return ParsedCounty(None, 0, city if city and known(city) else None, "cpca.unknown_code")
    return ParsedCounty(code, end, city, rule)


__all__ = ["CPCA_RENAMES", "ParsedCounty", "parse_county"]
