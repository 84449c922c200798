"""Read side: queue (我的待办), case, history, progress (进度) — from the projections."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any
from uuid import UUID

import asyncpg

from gx_contracts.divisions import Level, is_valid_code, prefix_of

_REVIEW_LEVELS = (Level.township, Level.county, Level.city, Level.region)


def scope_prefix(scope: str) -> str:
    """Jurisdiction prefix of a principal's scope (12-digit code or prefix)."""
    return prefix_of(scope) if is_valid_code(scope) else scope


def with_late(view: Any, now: datetime) -> dict[str, Any]:
    v = json.loads(view) if isinstance(view, str) else dict(view)
    deadline = v.get("deadline")
    passed = (v["status"] == "in_review" and deadline is not None
              and datetime.fromisoformat(deadline) <= now)
    v["late"] = bool(v.get("overdue_recorded") or passed)
    return v


async def queue(conn: asyncpg.Connection, schema: str, level: Level, scope: str, *,
                kind: str | None = None, task_id: str | None = None, status: str | None = None,
                limit: int = 100, offset: int = 0) -> list[dict[str, Any]]:
    """Cases held at `level` inside `scope`, oldest first."""
    statuses = [status] if status else ["in_review", "returned"]
    rows = await conn.fetch(
        f"SELECT view FROM {schema}.cases WHERE level = $1 AND division_code LIKE $2 "
        f"AND status = ANY($3::text[]) AND ($4::text IS NULL OR subject_kind = $4) "
        f"AND ($5::text IS NULL OR task_id = $5) ORDER BY arrived_at, case_id "
        f"LIMIT $6 OFFSET $7",
        level.value, scope_prefix(scope) + "%", statuses, kind, task_id, limit, offset)
    now = datetime.now(timezone.utc)
    return [with_late(r["view"], now) for r in rows]


async def case_by_id(conn: asyncpg.Connection, schema: str, case_id: UUID) -> dict | None:
    view = await conn.fetchval(f"SELECT view FROM {schema}.cases WHERE case_id = $1", case_id)
    return with_late(view, datetime.now(timezone.utc)) if view else None


async def history(conn: asyncpg.Connection, schema: str, case_id: UUID) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        f"SELECT version, event_id, event_type, action, at, actor, actor_name, role, division, "
        f"device, from_level, to_level, revision, comment, reason_code, reason, field_notes "
        f"FROM {schema}.case_steps WHERE case_id = $1 ORDER BY version", case_id)
    out = []
    for r in rows:
        step = dict(r)
        step["event_id"] = str(step["event_id"])
        step["at"] = step["at"].isoformat()
        step["field_notes"] = json.loads(step["field_notes"])
        out.append(step)
    return out


async def progress(conn: asyncpg.Connection, schema: str, task_id: str,
                   division: str) -> dict[str, Any]:
    """Per child division of `division`: expected villages and where their cases stand."""
    parent = await conn.fetchrow(
        f"SELECT code, name, level, village_count FROM {schema}.divisions WHERE code = $1",
        division)
    if parent is None:
        return {}
    children = await conn.fetch(
        f"SELECT code, name, level, village_count FROM {schema}.divisions "
        f"WHERE parent_code = $1 ORDER BY code", division)
    child_len = Level.from_csv_level(parent["level"] + 1).prefix_len if parent["level"] < 5 else 12
    level_cols = ", ".join(
        f"count(*) FILTER (WHERE status = 'in_review' AND level = '{lv.value}') AS at_{lv.value}"
        for lv in _REVIEW_LEVELS)
    rows = await conn.fetch(
        f"SELECT left(division_code, $3) AS child, count(*) AS submitted, {level_cols}, "
        f"count(*) FILTER (WHERE status = 'returned') AS returned, "
        f"count(*) FILTER (WHERE status = 'accepted') AS accepted, "
        f"count(*) FILTER (WHERE late OR (status = 'in_review' AND deadline <= now())) AS late "
        f"FROM {schema}.cases WHERE task_id = $1 AND division_code LIKE $2 GROUP BY 1",
        task_id, prefix_of(division) + "%", child_len)
    by_prefix = {r["child"]: r for r in rows}
    items = [_progress_item(c["code"], c["name"], c["village_count"],
                            by_prefix.get(c["code"][:child_len])) for c in children]
    total = _progress_item(parent["code"], parent["name"], parent["village_count"], None)
    for key in ("submitted", "returned", "accepted", "late", "not_started"):
        total[key] = sum(i[key] for i in items)
    total["at_level"] = {lv.value: sum(i["at_level"][lv.value] for i in items)
                         for lv in _REVIEW_LEVELS}
    return {"task_id": task_id, "division": division, "total": total, "children": items}


def _progress_item(code: str, name: str, expected: int, r: asyncpg.Record | None) -> dict:
    get = (lambda k: int(r[k])) if r is not None else (lambda k: 0)
    submitted = get("submitted")
    return {"code": code, "name": name, "expected": expected,
            "not_started": max(expected - submitted, 0),
            "draft": 0,  # drafts live in the domain services; not tracked here
            "submitted": submitted,
            "at_level": {lv.value: get(f"at_{lv.value}") for lv in _REVIEW_LEVELS},
            "returned": get("returned"), "accepted": get("accepted"), "late": get("late")}


async def snapshot_xmin(conn: asyncpg.Connection) -> int:
    """Oldest transaction id still running: any change committed later has an id >= this."""
    return await conn.fetchval("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")


async def changed_cases(conn: asyncpg.Connection, schema: str, task_id: str, division: str,
                        since_tx: int, limit: int = 500) -> list[asyncpg.Record]:
    """Cases of a task inside `division` changed by transactions with id >= `since_tx`.

    Only ids and states: a live stream may show them to anyone who may see the progress."""
    return await conn.fetch(
        f"SELECT case_id, version, status, level, late, division_code, subject_kind, "
        f"view->>'last_action' AS last_action FROM {schema}.cases "
        f"WHERE task_id = $1 AND changed_tx >= $2 AND division_code LIKE $3 "
        f"ORDER BY changed_tx, case_id LIMIT $4",
        task_id, since_tx, prefix_of(division) + "%", limit)
