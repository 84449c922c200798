"""Monitoring queries (进度与汇总): per child division, report counts by state and indicator sums.

Both read the reports read model once each, grouped by the child's code prefix; over the
whole region (16,681 reports) they run in tens of milliseconds.
"""
from __future__ import annotations

import uuid
from decimal import Decimal

from gx_contracts.divisions import Level

STATES = ("not_started", "draft", "submitted", "returned", "accepted", "confirmed")
REVIEW_LEVELS = (Level.township, Level.county, Level.city, Level.region)
_IN = "status IN ('submitted', 'accepted', 'confirmed')"


def _count_cols() -> str:
    cols = [f"count(*) FILTER (WHERE status = '{s}') AS {s}" for s in STATES]
    # approved at or above a level: still in the totals and that level (or a higher one) passed it
    cols += [f"count(*) FILTER (WHERE {_IN} AND approved_rank >= {lv.rank}) AS approved_{lv.value}"
             for lv in REVIEW_LEVELS]
    # where the ones under review wait now (an accepted one waits for the confirmation above)
    cols += [f"count(*) FILTER (WHERE status IN ('submitted', 'accepted')"
             f" AND review_level = '{lv.value}') AS waiting_{lv.value}" for lv in REVIEW_LEVELS]
    # who accepted (数据验收) the accepted or confirmed ones, and who confirmed them
    cols += [f"count(*) FILTER (WHERE status IN ('accepted', 'confirmed')"
             f" AND accepted_level = '{lv.value}') AS accepted_by_{lv.value}" for lv in REVIEW_LEVELS]
    cols += [f"count(*) FILTER (WHERE status = 'confirmed' AND confirmed_level = '{lv.value}')"
             f" AS confirmed_by_{lv.value}" for lv in REVIEW_LEVELS]
    return ", ".join(cols)


async def counts(conn, s: str, task_id: uuid.UUID, prefix: str, child_len: int) -> list[dict]:
    rows = await conn.fetch(
        f"SELECT substr(village_code, 1, {int(child_len)}) AS child, count(*) AS expected,"
        f" {_count_cols()}, max(updated_at) AS last_change"
        f" FROM {s}.reports WHERE task_id = $1 AND village_code LIKE $2 GROUP BY 1 ORDER BY 1",
        task_id, prefix + "%")
    return [dict(r) for r in rows]


async def sums(conn, s: str, task_id: uuid.UUID, prefix: str, child_len: int,
               rank: int) -> dict[str, dict[str, tuple[Decimal, Decimal | None]]]:
    """child -> indicator -> (sum over submitted, sum over approved at or above `rank`)."""
    rows = await conn.fetch(
        f"SELECT substr(r.village_code, 1, {int(child_len)}) AS child, kv.key,"
        f" sum(kv.value::numeric) AS submitted,"
        f" sum(kv.value::numeric) FILTER (WHERE r.approved_rank >= $3) AS approved"
        f" FROM {s}.reports r CROSS JOIN LATERAL jsonb_each(r.vals) kv"
        f" WHERE r.task_id = $1 AND r.village_code LIKE $2 AND r.{_IN}"
        f" AND jsonb_typeof(kv.value) = 'number' GROUP BY 1, 2", task_id, prefix + "%", rank)
    out: dict[str, dict[str, tuple[Decimal, Decimal | None]]] = {}
    for r in rows:
        out.setdefault(r["child"], {})[r["key"]] = (r["submitted"], r["approved"])
    return out


async def stamp(conn, s: str, task_id: uuid.UUID, prefix: str) -> str:
    """A cheap version tag of the scope: changes whenever any report in it changes.

    A sum over every row's update time, not the max: a transaction that started earlier but
    commits later writes an older now(), which a max would not notice."""
    row = await conn.fetchrow(
        f"SELECT count(*) AS n, coalesce(sum(extract(epoch FROM updated_at)), 0) AS t"
        f" FROM {s}.reports WHERE task_id = $1 AND village_code LIKE $2", task_id, prefix + "%")
    return f'"{row["n"]}-{row["t"]}"'
