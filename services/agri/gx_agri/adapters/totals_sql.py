"""Aggregation queries (汇总) over the reports read model."""
from __future__ import annotations

import uuid
from decimal import Decimal

from gx_agri.adapters.repo import load_json

_BASIS = {
    # all reports currently submitted (under review), accepted or confirmed; returned/draft are out
    "submitted": "r.status IN ('submitted', 'accepted', 'confirmed')",
    # approved at or above the level asked for ($3 = minimum rank)
    "approved": "r.status IN ('submitted', 'accepted', 'confirmed') AND r.approved_rank >= $3",
}


def _where(basis: str) -> str:
    return f"r.task_id = $1 AND r.village_code LIKE $2 AND {_BASIS[basis]}"


def _args(task_id, prefix, basis, rank):
    return [task_id, prefix + "%"] + ([rank] if basis == "approved" else [])


async def child_totals(conn, s: str, task_id: uuid.UUID, prefix: str, basis: str, rank: int,
                       child_len: int) -> tuple[dict[str, dict[str, Decimal]], dict[str, int]]:
    """Per child division (first `child_len` digits): indicator sums and report counts."""
    args = _args(task_id, prefix, basis, rank)
    sums = await conn.fetch(
        f"SELECT substr(r.village_code, 1, {int(child_len)}) AS child, kv.key,"
        f" sum(kv.value::numeric) AS total"
        f" FROM {s}.reports r CROSS JOIN LATERAL jsonb_each(r.vals) kv"
        f" WHERE {_where(basis)} AND jsonb_typeof(kv.value) = 'number' GROUP BY 1, 2", *args)
    counts = await conn.fetch(
        f"SELECT substr(r.village_code, 1, {int(child_len)}) AS child, count(*) AS n"
        f" FROM {s}.reports r WHERE {_where(basis)} GROUP BY 1", *args)
    by_child: dict[str, dict[str, Decimal]] = {}
    for row in sums:
        by_child.setdefault(row["child"], {})[row["key"]] = row["total"]
    return by_child, {r["child"]: r["n"] for r in counts}


async def drilldown(conn, s: str, task_id: uuid.UUID, prefix: str, basis: str, rank: int,
                    limit: int, offset: int, after: str | None = None) -> list[dict]:
    """One page of villages in code order: after the code `after` (keyset), then `offset`."""
    args = _args(task_id, prefix, basis, rank) + [after or ""]
    n = len(args)
    rows = await conn.fetch(
        f"SELECT r.village_code, d.name AS village_name, r.report_id, r.revision, r.version,"
        f" r.status, r.approved_rank, r.review_level, r.vals, r.submitted_at, r.accepted_level,"
        f" r.confirmed_level"
        f" FROM {s}.reports r LEFT JOIN {s}.divisions d ON d.code = r.village_code"
        f" WHERE {_where(basis)} AND r.village_code > ${n}"
        f" ORDER BY r.village_code LIMIT ${n + 1} OFFSET ${n + 2}",
        *args, limit, offset)
    out = []
    for row in rows:
        d = dict(row)
        d["vals"] = load_json(d["vals"])
        out.append(d)
    return out


async def division_names(conn, s: str, codes: list[str]) -> dict[str, str]:
    rows = await conn.fetch(f"SELECT code, name FROM {s}.divisions WHERE code = ANY($1)", codes)
    return {r["code"]: r["name"] for r in rows}
