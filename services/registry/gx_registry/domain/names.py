"""Unit-name normalisation: the full normalised name and the core name used for matching.

Two forms of the same rules: Python (one name at a time, the importer) and DuckDB SQL (the bulk
path; a Python UDF over a million names costs seconds). ``tests/registry/test_names.py`` checks
that both agree. DuckDB has no NFKC, so the SQL form maps what NFKC changes in unit names:
full-width ASCII, the ideographic space and full-width brackets.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from gx_contracts.divisions import Level, load_divisions

# NFKC leaves these alone; they all mean "bracketed part" in a unit name.
_OPEN, _CLOSE = "【〔「『［〈《<[{", "】〕」』］〉》>]}"
_BRACKETS = str.maketrans({**{c: "(" for c in _OPEN}, **{c: ")" for c in _CLOSE}})
_FULLWIDTH_FROM = "".join(chr(c) for c in range(0xFF01, 0xFF5F)) + "\u3000"
_FULLWIDTH_TO = "".join(chr(c) for c in range(0x21, 0x7F)) + " "

LEGAL_FORMS = ("集团股份公司", "集团有限公司", "股份公司", "有限公司", "集团公司", "有限合伙",
               "普通合伙", "合伙企业", "个人独资企业", "公司")
BRANCH_MARKERS = ("分公司", "分店", "分厂", "营业部", "办事处", "分部", "门市部", "分行", "支行",
                  "分理处", "分社", "分所", "分院", "分校")  # as rules/classification-v1.json
COMMON_WORDS = ("科技", "贸易", "商贸", "商行", "实业", "发展", "投资", "管理", "咨询", "服务",
                "工程", "建设", "建筑", "技术", "信息", "网络", "文化", "传媒", "农业", "开发",
                "电子", "餐饮", "物流", "置业", "房地产", "经营部", "门市部", "有限", "广西")
_REGION_PREFIX = ("广西壮族自治区", "广西省", "广西")


def _short(name: str) -> str | None:
    for suffix in ("各族自治县", "瑶族自治县", "苗族自治县", "侗族自治县", "仫佬族自治县",
                   "毛南族自治县", "壮族自治县", "自治县", "市", "县", "区"):
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            return name[: -len(suffix)]
    return None


@lru_cache(maxsize=1)
def place_prefixes() -> tuple[str, ...]:
    """City and county names (full and short, old names too), longest first."""
    names: set[str] = set()
    for d in load_divisions().values():
        if d.level in (Level.city, Level.county):
            names.add(d.name)
            if (s := _short(d.name)) is not None:
                names.add(s)
    names |= {"横县", "平果县", "荔浦县", "田阳县"}  # 2018–2021 renames still in old files
    return tuple(sorted(names, key=lambda n: (-len(n), n)))


@lru_cache(maxsize=1)
def _prefix_re() -> re.Pattern[str]:
    alts = "|".join(map(re.escape, _REGION_PREFIX + place_prefixes()))
    return re.compile(f"^(?:{alts})+")


_SPACE_RE = re.compile(r"\s+")
_PAREN_RE = re.compile(r"\([^()]*\)")
_FORM_RE = re.compile("(?:" + "|".join(map(re.escape, LEGAL_FORMS)) + ")$")
_BRANCH_RE = re.compile("(?:" + "|".join(map(re.escape, BRANCH_MARKERS)) + ")$")
_COMMON_RE = re.compile("|".join(map(re.escape, sorted(COMMON_WORDS, key=len, reverse=True))))


def normalise(name: str | None) -> str:
    """Full normalised name: NFKC, brackets unified, spaces out, long legal forms shortened."""
    s = unicodedata.normalize("NFKC", name or "").translate(_BRACKETS)
    s = _SPACE_RE.sub("", s).upper()
    return s.replace("有限责任公司", "有限公司").replace("股份有限公司", "股份公司")


def core(name: str | None) -> str:
    """Core name: normalised, without bracketed parts, region/city/county prefixes, legal form."""
    s = _PAREN_RE.sub("", normalise(name))
    s = _prefix_re().sub("", s)
    # A branch keeps its legal form: 分公司 must not lose its 公司.
    return s if _BRANCH_RE.search(s) else _FORM_RE.sub("", s)


def is_branch_name(name: str | None) -> bool:
    return bool(_BRANCH_RE.search(normalise(name)))


def distinctive(core_name: str) -> str:
    """The core without common trade words (科技, 贸易, 商贸…): what tells two units apart."""
    return _COMMON_RE.sub("", core_name)


# -- the same rules in DuckDB SQL ------------------------------------------------------------

def _sql_str(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def normalise_sql(col: str) -> str:
    """DuckDB expression equal to :func:`normalise` on unit names.

    ``translate`` costs ~15 µs a name, so it runs only on names that hold a character it maps
    (a few per cent); the same for ``upper``.
    """
    src = _FULLWIDTH_FROM + _OPEN + _CLOSE
    dst = _FULLWIDTH_TO + "(" * len(_OPEN) + ")" * len(_CLOSE)
    cls = "[" + "".join(re.escape(c) for c in src) + "]"
    s = f"coalesce({col}, '')"
    s = f"CASE WHEN regexp_matches({s}, {_sql_str(cls)}) THEN translate({s}, {_sql_str(src)}, " \
        f"{_sql_str(dst)}) ELSE {s} END"
    s = f"regexp_replace({s}, '\\s+', '', 'g')"
    s = f"CASE WHEN regexp_matches({s}, '[a-z]') THEN upper({s}) ELSE {s} END"
    return f"replace(replace({s}, '有限责任公司', '有限公司'), '股份有限公司', '股份公司')"


def core_sql(normalised_col: str) -> str:
    """DuckDB expression equal to :func:`core`, applied to an already normalised column."""
    s = f"regexp_replace({normalised_col}, '\\([^()]*\\)', '', 'g')"
    alts = "|".join(map(re.escape, _REGION_PREFIX + place_prefixes()))
    s = f"regexp_replace({s}, {_sql_str(f'^(?:{alts})+')}, '')"
    forms = "|".join(map(re.escape, LEGAL_FORMS))
    branch = "|".join(map(re.escape, BRANCH_MARKERS))
    return (f"CASE WHEN regexp_matches({s}, {_sql_str(f'(?:{branch})$')}) THEN {s} "
            f"ELSE regexp_replace({s}, {_sql_str(f'(?:{forms})$')}, '') END")


def strip_places_sql(col: str) -> str:
    """DuckDB expression: ``col`` without its leading region/city/county names (for addresses,
    whose shared administrative head would make any two in a county look alike)."""
    alts = "|".join(map(re.escape, _REGION_PREFIX + place_prefixes()))
    return f"regexp_replace({col}, {_sql_str(f'^(?:{alts})+')}, '')"


def distinctive_sql(core_col: str) -> str:
    alts = "|".join(map(re.escape, sorted(COMMON_WORDS, key=len, reverse=True)))
    return f"regexp_replace({core_col}, {_sql_str(alts)}, '', 'g')"
