"""审核统计: who returned what, how often, and how long each level takes (median, p90).

Computed in SQL over the projections (`cases` for the scope, `case_steps` for the actions).
The wait at a level is the time from the step that brought the case to the level (opened,
approved up, returned down, resubmitted, accepted early, reopened) to the action taken there
(approve, return, accept); `overdue` marks are not steps of the case's path and are skipped.
"""
from __future__ import annotations

from typing import Any

import asyncpg

from gx_contracts.divisions import Level, prefix_of
from gx_contracts.events.workflow import RETURN_REASONS

_DECISIONS = "('approve', 'return', 'accept')"


def _actions_cte(schema: str) -> str:
    """Decisions inside the scope ($1 division prefix, $2 task or NULL, $3 kind or NULL)."""
    return f"""
    WITH scoped AS (
        SELECT case_id FROM {schema}.cases
        WHERE division_code LIKE $1 AND ($2::text IS NULL OR task_id = $2)
          AND ($3::text IS NULL OR subject_kind = $3)),
    path AS (
        SELECT s.case_id, s.action, s.at, s.actor, s.actor_name, s.role, s.division,
               s.from_level, s.reason_code, s.final,
               lag(s.at) OVER (PARTITION BY s.case_id ORDER BY s.version) AS arrived
        FROM {schema}.case_steps s JOIN scoped USING (case_id)
        WHERE s.action <> 'overdue'),
    actions AS (
        SELECT *, extract(epoch FROM at - arrived)::float8 AS wait FROM path
        WHERE action IN {_DECISIONS} AND arrived IS NOT NULL)"""


def _counts() -> str:
    return ("count(*) FILTER (WHERE action IN ('approve', 'accept')) AS approvals, "
            "count(*) FILTER (WHERE action = 'accept') AS accepts, "
            "count(*) FILTER (WHERE action = 'accept' AND final IS FALSE) AS early_accepts, "
            "count(*) FILTER (WHERE action = 'return') AS returns, "
            "percentile_cont(0.5) WITHIN GROUP (ORDER BY wait) AS wait_p50, "
            "percentile_cont(0.9) WITHIN GROUP (ORDER BY wait) AS wait_p90")


async def review_stats(conn: asyncpg.Connection, schema: str, division: str,
                       task_id: str | None, kind: str | None, top: int = 10) -> dict[str, Any]:
    args = (prefix_of(division) + "%", task_id, kind)
    cte = _actions_cte(schema)
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        levels = await conn.fetch(
            f"{cte} SELECT from_level AS level, count(DISTINCT case_id) AS cases, {_counts()} "
            f"FROM actions GROUP BY from_level", *args)
        reviewers = await conn.fetch(
            f"{cte} SELECT actor, max(actor_name) AS actor_name, role, division, {_counts()} "
            f"FROM actions GROUP BY actor, role, division "
            f"ORDER BY count(*) FILTER (WHERE action = 'return') DESC, count(*) DESC, actor "
            f"LIMIT 200", *args)
        reasons = await conn.fetch(
            f"{cte} SELECT reason_code, count(*) AS n FROM actions WHERE action = 'return' "
            f"GROUP BY reason_code ORDER BY n DESC, reason_code LIMIT $4", *args, top)
    total_returns = sum(r["n"] for r in reasons)
    order = {lv.value: lv.rank for lv in Level}
    return {
        "division": division, "task_id": task_id, "kind": kind,
        "levels": [_level_item(r) for r in sorted(levels, key=lambda r: order.get(r["level"], 9))],
        "reviewers": [{"user_id": r["actor"], "username": r["actor_name"], "role": r["role"],
                       "division": r["division"], **_numbers(r)} for r in reviewers],
        "return_reasons": [{"code": r["reason_code"],
                            "label": RETURN_REASONS.get(r["reason_code"], "未知原因"),
                            "count": r["n"],
                            "share": round(r["n"] / total_returns, 4) if total_returns else 0.0}
                           for r in reasons],
    }


def _numbers(r: asyncpg.Record) -> dict[str, Any]:
    decided = r["approvals"] + r["returns"]
    return {"actions": decided, "approvals": r["approvals"], "accepts": r["accepts"],
            # of the accepts: 数据验收 (early) and 确认 (final)
            "early_accepts": r["early_accepts"], "confirms": r["accepts"] - r["early_accepts"],
            "returns": r["returns"],
            "return_rate": round(r["returns"] / decided, 4) if decided else 0.0,
            "wait_seconds_median": _round(r["wait_p50"]), "wait_seconds_p90": _round(r["wait_p90"])}


def _level_item(r: asyncpg.Record) -> dict[str, Any]:
    level = r["level"]
    label = Level(level).label_zh if level in Level._value2member_map_ else level
    return {"level": level, "label_zh": label, "cases": r["cases"], **_numbers(r)}


def _round(v: float | None) -> float | None:
    return None if v is None else round(float(v), 3)
