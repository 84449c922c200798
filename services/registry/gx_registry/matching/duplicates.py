"""Two records of one unit in ONE department batch: detected and reported, never two units.

Run after `engine.match` on the same connection (tables ``b``: the prepared batch, and
``decisions``). Rules, in order:
- ``batch.duplicate_uscc``: the same USCC as an earlier row;
- ``batch.duplicate_name``: the same normalised name (full/half width, brackets, 有限责任公司
  …) in the same county, when the rows' codes do not disagree (at most one code among them).
One row of each group stands for the unit (the first with a code, else the first); it keeps its
own decision (new, same unit changed/unchanged, ambiguous), and its explanation lists the rows
that repeat it. Each repeat gets the outcome ``duplicate``, the standing row's unit (if any)
and its own explanation: which row, by which rule. Rows placed no deeper than a city have no
county: the name rule leaves them alone.
"""
from __future__ import annotations

import uuid
from typing import Any

import duckdb

RULE_ZH = {"batch.duplicate_uscc": "统一社会信用代码相同",
           "batch.duplicate_name": "同一县（市、区）内单位名称（规范化后）相同"}


def mark(con: duckdb.DuckDBPyConnection) -> int:
    """Mark the batch's repeats in ``decisions`` (columns dup_of, dup_rows); how many."""
    con.execute("""
        CREATE OR REPLACE TEMP TABLE dup AS
        WITH code_groups AS (
            SELECT row_no, min(row_no) OVER (PARTITION BY code) AS first FROM b WHERE code <> ''),
        by_code AS (SELECT row_no, first, 'batch.duplicate_uscc' AS rule
                    FROM code_groups WHERE row_no <> first),
        reps AS (SELECT * FROM b ANTI JOIN by_code USING (row_no)),
        name_groups AS (
            SELECT county, norm,
                   coalesce(min(row_no) FILTER (WHERE code <> ''), min(row_no)) AS first
            FROM reps WHERE county NOT LIKE '%00' AND norm <> ''
            GROUP BY county, norm
            HAVING count(*) > 1 AND count(DISTINCT code) FILTER (WHERE code <> '') <= 1),
        by_name AS (SELECT r.row_no, g.first, 'batch.duplicate_name' AS rule
                    FROM reps r JOIN name_groups g USING (county, norm) WHERE r.row_no <> g.first)
        SELECT x.row_no, x.first, x.rule, d.unit_id AS first_unit, d.outcome AS first_outcome
        FROM (SELECT * FROM by_code UNION ALL SELECT * FROM by_name) x
        JOIN decisions d ON d.row_no = x.first;
        ALTER TABLE decisions ADD COLUMN IF NOT EXISTS dup_of INTEGER;
        ALTER TABLE decisions ADD COLUMN IF NOT EXISTS dup_rows INTEGER[];
        UPDATE decisions SET outcome = 'duplicate', rule = dup.rule, dup_of = dup.first,
               unit_id = dup.first_unit, changed_fields = []
        FROM dup WHERE decisions.row_no = dup.row_no;
        UPDATE decisions SET dup_rows = g.rows_
        FROM (SELECT first, list(row_no ORDER BY row_no) AS rows_ FROM dup GROUP BY first) g
        WHERE decisions.row_no = g.first;
    """)
    row = con.execute("SELECT count(*) FROM dup").fetchone()
    return int(row[0]) if row else 0


def explain(r: dict[str, Any]) -> dict[str, Any]:
    """The explanation of a repeat (outcome ``duplicate``)."""
    first, rule = r["dup_of"], r["rule"]
    unit = r.get("unit_id")
    return {"outcome": "duplicate", "rule": rule, "duplicate_of_row": first,
            "unit": str(unit) if unit else None,
            "text": f"与本批第{first}行{RULE_ZH.get(rule, rule)}，是同一单位，按第{first}行处理，"
                    f"不重复入库"}


def standing_note(rows: list[int]) -> dict[str, Any]:
    """What the standing row's explanation says about the rows repeating it."""
    shown = "、".join(str(n) for n in rows[:20]) + ("等" if len(rows) > 20 else "")
    return {"rows": rows[:200], "count": len(rows),
            "text": f"本批第{shown}行是同一单位的重复记录，未重复入库"}


def report(con: duckdb.DuckDBPyConnection, batch_id: uuid.UUID) -> list[tuple[Any, ...]]:
    """Rows for the batch's downloadable list (row, field, Chinese reason), like bad rows."""
    cur = con.execute("""
        SELECT d.row_no, d.rule, d.first, b.code, b.name FROM dup d JOIN b USING (row_no)
        ORDER BY d.row_no""")
    out = []
    for row_no, rule, first, code, name in cur.fetchall():
        uscc = rule == "batch.duplicate_uscc"
        out.append((batch_id, row_no, "uscc" if uscc else "name", rule,
                    f"与第{first}行{RULE_ZH[rule]}，是同一单位的重复记录，未重复入库",
                    (code if uscc else name)[:200]))
    return out


__all__ = ["RULE_ZH", "explain", "mark", "report", "standing_note"]
