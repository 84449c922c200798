"""Comparison levels and their m/u probabilities (Fellegi–Sunter): the weights that explain.

match weight of a pair = Σ over fields of log2(m/u) for the level the pair falls in. ``u`` of
the exact-name and same-legal-representative levels is the term frequency in the county's
stock (a name made only of 科技/贸易/商贸 or a common person's name proves less), never below
``TF_FLOOR``. Values are priors set by hand; they are data so a trained model can replace them.
"""

from __future__ import annotations

VERSION = "match-weights-v1"

MATCH_THRESHOLD = 6.0  # weight ≥ this: same unit
REVIEW_THRESHOLD = 2.0  # between: ambiguous, to a county reviewer
MARGIN = 3.0  # best must beat the runner-up by this much, else ambiguous
JW_FLOOR = 0.70  # candidate pairs with a lower core-name similarity and no other evidence are dropped
TF_FLOOR = 1e-5
# One person is often the legal representative of several units: agreement on the name of a
# person alone never proves more than this (u ≥ 0.2 %), even when the name is rare.
REP_TF_FLOOR = 0.002

# field -> level -> (m, u or None for term frequency, Chinese label)
LEVELS: dict[str, dict[str, tuple[float, float | None, str]]] = {
    "name": {
        "exact": (0.45, None, "名称规范化后完全一致"),
        "core_exact": (0.25, None, "核心字号一致（仅括号、前缀或组织形式不同）"),
        "high": (0.15, 0.0005, "名称高度相似（Jaro–Winkler ≥ 0.92）"),
        "similar": (0.07, 0.005, "名称相似（Jaro–Winkler ≥ 0.85）"),
        "different": (0.02, 0.9945, "名称不同"),
    },
    "address": {
        "exact": (0.6, 0.0005, "地址一致"),
        # units of one village share most of an address: similar proves little
        "similar": (0.25, 0.02, "地址相似（Jaro–Winkler ≥ 0.95，县以下部分）"),
        "different": (0.15, 0.9945, "地址不同"),
        "null": (1.0, 1.0, "地址缺失，不计"),
    },
    "legal_rep": {
        "exact": (0.85, None, "法定代表人（负责人）一致"),
        "different": (0.15, 0.999, "法定代表人（负责人）不同"),
        "null": (1.0, 1.0, "法定代表人缺失，不计"),
    },
    "uscc": {
        "conflict": (0.01, 0.99, "双方均有统一社会信用代码但不同"),
        "null": (1.0, 1.0, "至少一方无统一社会信用代码，不计"),
    },
}


def weight_sql(field: str, level_col: str, tf_col: str | None = None) -> str:
    """DuckDB expression: log2(m/u) for the level in ``level_col``."""
    arms = []
    for level, (m, u, _label) in LEVELS[field].items():
        if u is None:
            assert tf_col, f"{field}.{level} needs a term frequency column"
            arms.append(f"WHEN '{level}' THEN log2({m} / greatest({tf_col}, {TF_FLOOR}))")
        else:
            arms.append(f"WHEN '{level}' THEN {_log2(m / u)!r}")
    return f"CAST(CASE {level_col} {' '.join(arms)} END AS DOUBLE)"


def _log2(x: float) -> float:
    import math

    return round(math.log2(x), 6)


def label(field: str, level: str) -> str:
    return LEVELS[field][level][2]
