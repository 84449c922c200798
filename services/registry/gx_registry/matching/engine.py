"""Compare a department batch with the register stock in DuckDB and explain every decision.

Steps: (1) exact USCC; (2) every other row is compared with candidates from three blocking
rules within its county — first two characters of the core name, the same legal
representative, the same address — on name (exact / core / Jaro–Winkler levels), address,
legal representative and USCC conflict; (3) the best candidate's match weight decides: same
unit (≥ MATCH_THRESHOLD and clear of the runner-up), ambiguous (a county reviewer decides),
or new unit. A linked row is *unchanged* or *changed* (the fields that differ are named).

Input tables (anything DuckDB reads: Arrow, pandas, a relation) have the columns
stock: unit_id, uscc, name, county, address, legal_rep, status
batch: row_no, uscc, name, county, address, legal_rep, status
(county: 6-digit county code, as placement gives it). DuckDB ≥ 2.0 is required: 1.x counts
bytes, not characters, in its edit distances (Jaro–Winkler is per character in both).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import duckdb

from ..domain.names import (
    _BRANCH_RE,
    _sql_str,
    core_sql,
    distinctive_sql,
    normalise_sql,
    strip_places_sql,
)
from . import duplicates
from . import weights as W

COMPARED_FIELDS = ("uscc", "name", "address", "legal_rep", "status")
FIELD_LABELS = {"uscc": "统一社会信用代码", "name": "单位详细名称", "address": "详细地址",
                "legal_rep": "法定代表人（单位负责人）", "status": "运营状态"}

_ADDR = "regexp_replace(translate(coalesce({c}, ''), '\u3000（）', ' ()'), '\\s+', '', 'g')"


def _prepare(con: duckdb.DuckDBPyConnection, src: str, dst: str, key: str) -> None:
    norm = normalise_sql("name")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {dst} AS
        WITH n AS (SELECT *, {norm} AS norm,
                          {strip_places_sql(_ADDR.format(c='address'))} AS addr,
                          coalesce(trim(legal_rep), '') AS rep,
                          upper(coalesce(trim(uscc), '')) AS code
                   FROM {src}),
             c AS (SELECT *, {core_sql('norm')} AS core FROM n)
        SELECT {key}, code, name, county, address, legal_rep, status, norm, addr, rep, core,
               regexp_matches(norm, {_sql_str(_BRANCH_RE.pattern)}) AS br,
               {distinctive_sql('core')} AS dist, left(core, 2) AS k1
        FROM c""")


def index_stock(con: duckdb.DuckDBPyConnection, stock: str = "stock") -> None:
    """The stock's normalised keys and term frequencies (tables s, tf, tf_rep, county_n).

    The register keeps these as units change; a batch is matched against them many times.
    """
    _prepare(con, stock, "s", "unit_id")
    con.execute("""
        CREATE OR REPLACE TEMP TABLE tf AS
        SELECT county, core, count(*) AS n FROM s GROUP BY ALL;
        CREATE OR REPLACE TEMP TABLE tf_rep AS
        SELECT county, rep, count(*) AS n FROM s WHERE rep <> '' GROUP BY ALL;
        CREATE OR REPLACE TEMP TABLE county_n AS SELECT county, count(*) AS n FROM s GROUP BY ALL;
    """)


def match(con: duckdb.DuckDBPyConnection, stock: str | None = "stock", batch: str = "batch") -> None:
    """Leaves table ``decisions`` (one row per batch row) in ``con``. Inputs are table names;
    ``stock=None`` reuses the index of an earlier :func:`index_stock`."""
    if stock is not None:
        index_stock(con, stock)
    _prepare(con, batch, "b", "row_no")
    con.execute("""
        CREATE OR REPLACE TEMP TABLE by_code AS
        SELECT b.row_no, any_value(s.unit_id) AS unit_id, count(*) AS n
        FROM b JOIN s ON b.code = s.code WHERE b.code <> '' GROUP BY b.row_no;
        CREATE OR REPLACE TEMP TABLE rest AS SELECT * FROM b ANTI JOIN by_code USING (row_no);
        CREATE OR REPLACE TEMP TABLE cand AS
        SELECT r.row_no, s.unit_id FROM rest r JOIN s ON r.county = s.county AND r.k1 = s.k1
        UNION SELECT r.row_no, s.unit_id FROM rest r
              JOIN s ON r.county = s.county AND r.rep = s.rep WHERE r.rep <> ''
        UNION SELECT r.row_no, s.unit_id FROM rest r
              JOIN s ON r.county = s.county AND r.addr = s.addr WHERE r.addr <> '';
    """)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE scored AS
        WITH p AS (
            SELECT c.row_no, c.unit_id,
                   jaro_winkler_similarity(r.core, s.core) AS jw_name,
                   CASE WHEN r.dist = '' OR s.dist = '' THEN 1.0
                        ELSE jaro_winkler_similarity(r.dist, s.dist) END AS jw_dist,
                   CASE WHEN r.addr = '' OR s.addr = '' THEN NULL
                        ELSE jaro_winkler_similarity(r.addr, s.addr) END AS jw_addr,
                   r.norm = s.norm AS same_norm, r.core = s.core AS same_core,
                   r.br <> s.br AS br_diff,
                   r.rep, s.rep AS s_rep, r.code, s.code AS s_code,
                   coalesce(tf.n, 1)::DOUBLE / cn.n AS tf_name,
                   greatest(coalesce(tr.n, 1)::DOUBLE / cn.n, {W.REP_TF_FLOOR}) AS tf_rep
            FROM cand c JOIN rest r USING (row_no) JOIN s USING (unit_id)
            JOIN county_n cn ON cn.county = s.county
            LEFT JOIN tf ON tf.county = s.county AND tf.core = s.core
            LEFT JOIN tf_rep tr ON tr.county = s.county AND tr.rep = s.rep
        ), l AS (
            SELECT *,
                   CASE WHEN same_norm THEN 'exact' WHEN same_core THEN 'core_exact'
                        WHEN jw_name >= 0.92 AND jw_dist >= 0.85 THEN 'high'
                        WHEN jw_name >= 0.85 AND jw_dist >= 0.65 THEN 'similar'
                        ELSE 'different' END AS name_level,
                   CASE WHEN jw_addr IS NULL THEN 'null' WHEN jw_addr = 1 THEN 'exact'
                        WHEN jw_addr >= 0.95 THEN 'similar' ELSE 'different' END AS address_level,
                   CASE WHEN rep = '' OR s_rep = '' THEN 'null' WHEN rep = s_rep THEN 'exact'
                        ELSE 'different' END AS legal_rep_level,
                   CASE WHEN code <> '' AND s_code <> '' AND code <> s_code THEN 'conflict'
                        ELSE 'null' END AS uscc_level
            FROM p
            -- a branch (分公司, 分店 …) and its parent legal person are two units, never one
            WHERE (jw_name >= {W.JW_FLOOR} OR rep = s_rep OR jw_addr = 1) AND NOT br_diff
        )
        SELECT *, {W.weight_sql('name', 'name_level', 'tf_name')} AS name_w,
               {W.weight_sql('address', 'address_level')} AS address_w,
               {W.weight_sql('legal_rep', 'legal_rep_level', 'tf_rep')} AS legal_rep_w,
               {W.weight_sql('uscc', 'uscc_level')} AS uscc_w
        FROM l""")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE decisions AS
        WITH w AS (SELECT *, name_w + address_w + legal_rep_w + uscc_w AS weight FROM scored),
             ranked AS (SELECT *, row_number() OVER (PARTITION BY row_no ORDER BY weight DESC,
                                                     unit_id) AS rk,
                               count(*) OVER (PARTITION BY row_no) AS n_cand FROM w),
             best AS (SELECT r1.*, r2.weight AS second_weight, r2.unit_id AS second_unit
                      FROM ranked r1 LEFT JOIN ranked r2 ON r2.row_no = r1.row_no AND r2.rk = 2
                      WHERE r1.rk = 1),
             fuzzy AS (
                SELECT b.row_no, best.unit_id AS best_unit, best.weight, best.second_weight,
                       best.second_unit, coalesce(best.n_cand, 0) AS n_cand,
                       best.name_level, best.address_level, best.legal_rep_level, best.uscc_level,
                       best.name_w, best.address_w, best.legal_rep_w, best.uscc_w,
                       best.jw_name, best.jw_addr, best.tf_name,
                       CASE WHEN best.weight IS NULL THEN 'new'
                            -- two different codes: never merged without a person
                            WHEN best.uscc_level = 'conflict' AND best.weight >= {W.REVIEW_THRESHOLD}
                                 THEN 'ambiguous'
                            WHEN best.weight >= {W.MATCH_THRESHOLD}
                                 AND coalesce(best.second_weight, -1e9) <= best.weight - {W.MARGIN}
                                 THEN 'same'
                            WHEN best.weight >= {W.REVIEW_THRESHOLD} THEN 'ambiguous'
                            ELSE 'new' END AS link,
                       CASE WHEN best.weight IS NULL THEN 'no_candidate'
                            WHEN best.name_level = 'exact' THEN 'name.exact_in_county'
                            ELSE 'fuzzy.match_weight' END AS rule
                FROM rest b LEFT JOIN best USING (row_no)),
             linked AS (
                SELECT row_no, unit_id, CASE WHEN n = 1 THEN 'same' ELSE 'ambiguous' END AS link,
                       'uscc.exact' AS rule FROM by_code
                UNION ALL
                SELECT row_no, CASE WHEN link = 'same' THEN best_unit END, link, rule FROM fuzzy)
        SELECT l.row_no, l.unit_id, l.rule,
               CASE WHEN l.link <> 'same' THEN l.link
                    WHEN b.norm = s.norm AND b.addr IS NOT DISTINCT FROM s.addr
                         AND (b.code = '' OR b.code = s.code)
                         AND (b.rep = '' OR b.rep = s.rep)
                         AND (b.status IS NULL OR b.status IS NOT DISTINCT FROM s.status)
                         THEN 'unchanged' ELSE 'changed' END AS outcome,
               list_filter([CASE WHEN b.code <> '' AND b.code <> s.code THEN 'uscc' END,
                            CASE WHEN b.norm <> s.norm THEN 'name' END,
                            CASE WHEN b.addr <> s.addr AND b.addr <> '' THEN 'address' END,
                            CASE WHEN b.rep <> '' AND b.rep <> s.rep THEN 'legal_rep' END,
                            CASE WHEN b.status IS NOT NULL AND b.status IS DISTINCT FROM s.status
                                 THEN 'status' END], lambda x: x IS NOT NULL) AS changed_fields,
               f.best_unit, f.weight, f.second_weight, f.second_unit, f.n_cand,
               f.name_level, f.address_level, f.legal_rep_level, f.uscc_level,
               f.name_w, f.address_w, f.legal_rep_w, f.uscc_w, f.jw_name, f.jw_addr, f.tf_name
        FROM linked l JOIN b USING (row_no) LEFT JOIN s ON s.unit_id = l.unit_id
        LEFT JOIN fuzzy f USING (row_no)""")


@dataclass(frozen=True, slots=True)
class Decision:
    row_no: int
    outcome: str  # unchanged | changed | new | ambiguous | duplicate (duplicates.mark)
    unit_id: str | None
    changed_fields: tuple[str, ...]
    explanation: dict[str, Any]


def decisions(con: duckdb.DuckDBPyConnection, where: str = "TRUE") -> list[Decision]:
    """The decisions as Python objects with their explanation (for events and the console)."""
    cur = con.execute(f"SELECT * FROM decisions WHERE {where} ORDER BY row_no")
    cols = [d[0] for d in cur.description]
    out = []
    for values in cur.fetchall():
        r = dict(zip(cols, values, strict=True))
        changed = tuple(r["changed_fields"] or ()) if r["outcome"] in ("changed",) else ()
        out.append(Decision(r["row_no"], r["outcome"], r["unit_id"], changed, explain(r)))
    return out


def explain(r: dict[str, Any]) -> dict[str, Any]:
    """A small dict stored in the event: rule, per-field levels and weights, and a sentence."""
    if r["outcome"] == "duplicate":  # a repeat of another row of the batch (duplicates.py)
        return duplicates.explain(r)
    e: dict[str, Any] = {"outcome": r["outcome"], "rule": r["rule"], "weights_version": W.VERSION}
    if r["rule"] == "uscc.exact":
        e["text"] = ("统一社会信用代码与名录库单位一致，判定为同一单位" if r["outcome"] != "ambiguous"
                     else "统一社会信用代码在名录库中对应多个单位，需人工判定")
    elif r["rule"] == "no_candidate":
        e["text"] = "统一社会信用代码未匹配，且同一县（市、区）内没有名称、法定代表人或地址相近的单位，判定为新增单位"
    else:
        fields = {}
        for f in ("name", "address", "legal_rep", "uscc"):
            level = r[f"{f}_level"]
            fields[f] = {"level": level, "label": W.label(f, level), "weight": round(r[f"{f}_w"], 2)}
        fields["name"]["similarity"] = round(r["jw_name"], 3)
        if r["jw_addr"] is not None:
            fields["address"]["similarity"] = round(r["jw_addr"], 3)
        e.update(candidate=r["best_unit"], match_weight=round(r["weight"], 2),
                 thresholds={"same": W.MATCH_THRESHOLD, "review": W.REVIEW_THRESHOLD,
                             "margin": W.MARGIN},
                 fields=fields, candidates=r["n_cand"],
                 runner_up=None if r["second_unit"] is None else
                 {"unit": r["second_unit"], "match_weight": round(r["second_weight"], 2)})
        e["text"] = _sentence(r, fields)
    if r["outcome"] == "changed":
        e["changed_fields"] = [FIELD_LABELS[f] for f in r["changed_fields"] or ()]
    if r.get("dup_rows"):
        e["in_batch_duplicates"] = duplicates.standing_note(list(r["dup_rows"]))
    return e


def _sentence(r: dict[str, Any], fields: dict[str, dict[str, Any]]) -> str:
    parts = "；".join(f"{v['label']}（{v['weight']:+.1f}）" for v in fields.values())
    w = r["weight"]
    if r["outcome"] == "new":
        return (f"与最相近的名录库单位比较：{parts}；匹配权重 {w:.1f} 低于复核阈值 "
                f"{W.REVIEW_THRESHOLD:.0f}，判定为新增单位")
    if r["outcome"] == "ambiguous":
        why = ("但双方统一社会信用代码不同" if r["uscc_level"] == "conflict" else
               f"与次优候选（{r['second_weight']:.1f}）相差不足 {W.MARGIN:.0f}"
               if w >= W.MATCH_THRESHOLD else f"介于复核阈值与同一单位阈值 {W.MATCH_THRESHOLD:.0f} 之间")
        return f"{parts}；匹配权重 {w:.1f}，{why}，交县级人工判定"
    return f"{parts}；匹配权重 {w:.1f} ≥ {W.MATCH_THRESHOLD:.0f}，判定为同一单位"
