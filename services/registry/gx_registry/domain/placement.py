"""Place a record in the division tree: from its 12-digit code, else from its address.

County by the address parser cpca with an overlay for the 2018–2021 renames its data misses
(`county_parser`), else by our own matcher of county names (current names from our tree plus
the old names that files still use); then township and village names under that county. The
rule that placed the county is kept (`county_rule`). What cannot be
placed stays at the lowest level that could be placed (county, city or region) with the
reason, for people to place by hand (附件2: 逐级下划).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from gx_contracts.divisions import REGION_CODE, Division, Level, is_valid_code, load_divisions

from gx_registry.domain.county_parser import parse_county

# Old county names still found in addresses and department files → current code.
RENAMED_COUNTIES = {"横县": "450181000000", "平果县": "451082000000", "荔浦县": "450381000000",
                    "田阳县": "451003000000"}

_TOWN_SUFFIXES = ("街道办事处", "街道", "民族乡", "族乡", "镇", "乡")
_VILLAGE_SUFFIXES = ("村民委员会", "社区居民委员会", "居民委员会", "村委会", "社区居委会", "居委会",
                     "社区", "村", "生活区")


@dataclass(frozen=True, slots=True)
class Placement:
    code: str  # 12-digit division code at the lowest level placed
    level: Level
    source: str  # "code" | "address"
    reason_code: str  # stable: placed.village, placed.code, unplaced.township, …
    reason: str  # Chinese, for people placing by hand
    county_rule: str = ""  # cpca.county | cpca.county+rename | own.county_name(<why cpca did not>)

    @property
    def complete(self) -> bool:
        return self.level == Level.village

    def as_dict(self) -> dict[str, str]:
        d = {"code": self.code, "level": self.level.value, "source": self.source,
             "reason_code": self.reason_code, "reason": self.reason}
        if self.county_rule:
            d["county_rule"] = self.county_rule
        return d


def _short(name: str, suffixes: tuple[str, ...]) -> str | None:
    for s in suffixes:
        if name.endswith(s) and len(name) - len(s) >= 2:
            return name[: -len(s)]
    return None


def _shorts(name: str, suffixes: tuple[str, ...]) -> tuple[str, ...]:
    """冲脉社区居委会 -> (冲脉社区, 冲脉): every suffix strip leaving two characters or more."""
    out = {name[: -len(s)] for s in suffixes if name.endswith(s) and len(name) - len(s) >= 2}
    return tuple(sorted(out, key=len, reverse=True))


@dataclass(frozen=True, slots=True)
class _Tree:
    divisions: dict[str, Division]
    city_names: tuple[tuple[str, str], ...]  # (name, code), longest first
    county_names: tuple[tuple[str, str], ...]
    children: dict[str, tuple[Division, ...]]
    short: dict[str, tuple[str, ...]]  # township/village code -> names without 镇/村委会…, longest first


@lru_cache(maxsize=1)
def _tree() -> _Tree:
    divs = load_divisions()
    children: dict[str, list[Division]] = {}
    cities, counties = [], []
    for d in divs.values():
        if d.parent_code:
            children.setdefault(d.parent_code, []).append(d)
        if d.level == Level.city:
            cities += [(d.name, d.code)] + ([(s, d.code)] if (s := _short(d.name, ("市",))) else [])
        elif d.level == Level.county:
            counties.append((d.name, d.code))
            if (s := _short(d.name, ("各族自治县", "自治县", "市", "县", "区"))) and len(s) >= 2:
                counties.append((s, d.code))
    counties += list(RENAMED_COUNTIES.items())
    key = lambda p: (-len(p[0]), p[0])  # noqa: E731 — longest name wins
    short = {d.code: _shorts(d.name, _TOWN_SUFFIXES if d.level == Level.township else _VILLAGE_SUFFIXES)
             for d in divs.values() if d.level in (Level.township, Level.village)}
    return _Tree(divs, tuple(sorted(cities, key=key)), tuple(sorted(counties, key=key)),
                 {k: tuple(v) for k, v in children.items()}, short)


def _clean(address: str) -> str:
    s = unicodedata.normalize("NFKC", address or "")
    return re.sub(r"\s+", "", s)


def place(address: str | None, division_code: str | None = None) -> Placement:
    tree = _tree()
    code = (division_code or "").strip()
    if code:
        if is_valid_code(code) and code in tree.divisions:
            d = tree.divisions[code]
            return Placement(code, d.level, "code", "placed.code", f"按区划代码定位到{d.name}")
        # A bad code is ignored (the address decides), and said so.
    addr = _clean(address or "")
    note = "；区划代码无效，按地址定位" if code else ""
    parsed = parse_county(addr, tree.divisions.__contains__, _county_umap())
    county: str | None
    if parsed.code is not None:
        county, pos, rule = parsed.code, parsed.end, parsed.rule
    else:
        county, pos = _find_county(tree, addr)
        rule = f"own.county_name({parsed.rule})"
    if county is None:
        m = _name_res()[0].search(addr)
        city = _name_res()[2][m.group()] if m else parsed.city
        if city:
            return Placement(city, Level.city, "address", "unplaced.county",
                             f"地址中未识别出县（市、区），停留在{tree.divisions[city].name}{note}",
                             rule)
        return Placement(REGION_CODE, Level.region, "address", "unplaced.county",
                         f"地址中未识别出市、县（市、区），停留在自治区{note}", rule)
    rest = addr[pos:]
    county_name = tree.divisions[county].name
    town, tpos = _find_child(tree, county, rest)
    if town is None:
        # No township name: a village name unique in the county still places the unit.
        hits = _matches(tree, _candidates(tree, "villages:" + county, rest), rest)
        if len(hits) == 1:
            v = hits[0][0]
            return Placement(v.code, Level.village, "address", "placed.village_only",
                             f"地址无乡镇名，按村名唯一定位到{v.name}{note}", rule)
        why = "多个村（社区）同名" if hits else "地址中未识别出乡镇（街道）"
        return Placement(county, Level.county, "address", "unplaced.township",
                         f"{why}，停留在{county_name}{note}", rule)
    town_name = tree.divisions[town].name
    village, _ = _find_child(tree, town, rest[tpos:])
    if village is None:
        return Placement(town, Level.township, "address", "unplaced.village",
                         f"地址中未识别出村（社区），停留在{county_name}{town_name}{note}", rule)
    return Placement(village, Level.village, "address", "placed.village",
                     f"按地址定位到{county_name}{town_name}{tree.divisions[village].name}{note}",
                     rule)


@lru_cache(maxsize=1)
def _county_umap() -> dict[str, str]:
    """Guangxi's county names -> 6-digit code: a lone district name (城中区) is ours."""
    return {d.name: d.code[:6] for d in _tree().divisions.values() if d.level == Level.county}


@lru_cache(maxsize=1)
def _name_res() -> tuple[re.Pattern[str], re.Pattern[str], dict[str, str], dict[str, str]]:
    """One alternation each for cities and counties, longest names first (one scan a line)."""
    tree = _tree()

    def alt(pairs: tuple[tuple[str, str], ...] | list[tuple[str, str]]) -> re.Pattern[str]:
        return re.compile("|".join(re.escape(n) for n, _ in pairs))
    return (alt(tree.city_names), alt(tree.county_names), dict(tree.city_names),
            dict(tree.county_names))


def _find_county(tree: _Tree, addr: str) -> tuple[str | None, int]:
    city_re, county_re, city_code, county_code = _name_res()
    # A city in the address narrows the counties (a short county name may exist elsewhere).
    m = city_re.search(addr)
    city = city_code[m.group()][:4] if m else None
    # Counties after the city name first: 防城 (防城区) is inside 防城港市.
    for start in ((m.end(), 0) if m else (0,)):
        for c in county_re.finditer(addr, start):
            code = county_code[c.group()]
            if city is None or code.startswith(city):
                return code, c.end()
    return None, 0


def _matches(tree: _Tree, children: Iterable[Division], text: str) -> list[tuple[Division, int, int]]:
    """(division, position, end) of each child whose full or short name is in ``text``."""
    hits = []
    for d in children:
        if (at := text.find(d.name)) >= 0:
            hits.append((d, at, at + len(d.name), len(d.name)))
            continue
        for short in tree.short[d.code]:
            if (at := _short_hit(text, short)) >= 0:
                hits.append((d, at, at + len(short), len(short)))
                break
    # Prefer the longest name; keep the others only when they are not inside it.
    hits.sort(key=lambda h: (-h[3], h[1]))
    return [(d, a, e) for d, a, e, _ in hits]


_ROAD_RE = re.compile(r"(?:路|街|大道|巷|道|大街|广场|小区|花园|大厦|桥)")


def _short_hit(text: str, short: str) -> int:
    """Position of a short name (新竹 for 新竹街道) not followed by a road word (新竹路)."""
    start = 0
    while (at := text.find(short, start)) >= 0:
        if not _ROAD_RE.match(text, at + len(short)):
            return at
        start = at + 1
    return -1


def _children(tree: _Tree, key: str) -> tuple[Division, ...]:
    """A parent's children; "villages:<county>": every village of the county."""
    if key.startswith("villages:"):
        county = key.removeprefix("villages:")
        return tuple(v for t in tree.children.get(county, ())
                     for v in tree.children.get(t.code, ()))
    return tree.children.get(key, ())


@lru_cache(maxsize=4096)
def _first_pairs(key: str) -> tuple[tuple[Division, ...], dict[str, tuple[int, ...]]]:
    """The children of `key` and, by the first two characters of each of their full and
    short names, which children have such a name."""
    tree = _tree()
    children = _children(tree, key)
    index: dict[str, set[int]] = {}
    for i, d in enumerate(children):
        for name in (d.name, *tree.short[d.code]):
            index.setdefault(name[:2], set()).add(i)
    return children, {k: tuple(sorted(v)) for k, v in index.items()}


def _candidates(tree: _Tree, key: str, text: str) -> list[Division]:
    """The children that could be named in `text` (every name has two characters or more,
    so its first two are in the text), in the children's order: the same hits as trying
    every child, for a few string searches instead of hundreds."""
    children, index = _first_pairs(key)
    pairs = {text[k:k + 2] for k in range(len(text) - 1)} & index.keys()
    if not pairs:
        return []
    found = set().union(*(index[p] for p in pairs))
    return [children[i] for i in sorted(found)]


def _find_child(tree: _Tree, parent: str, text: str) -> tuple[str | None, int]:
    hits = _matches(tree, _candidates(tree, parent, text), text)
    if not hits:
        return None, 0
    best = hits[0]
    ties = [h for h in hits if h[2] - h[1] == best[2] - best[1] and h[0].code != best[0].code]
    if ties:
        return None, 0  # two children equally named: leave it for a person
    return best[0].code, best[2]
