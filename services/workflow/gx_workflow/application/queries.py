"""Read side: queue (我的待办), case, history, progress (进度) — from the projections."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any
from uuid import UUID

import asyncpg

from gx_contracts.divisions import Level, is_valid_code, prefix_of

from gx_workflow.application.paging import encode_cursor

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
                limit: int = 100, offset: int = 0, after: tuple[datetime, UUID] | None = None,
                watch: bool = False) -> tuple[list[dict[str, Any]], str | None]:
    """Cases held at `level` inside `scope`, oldest first — or (`watch`) the cases in review
    elsewhere that `level` watches (同步监测) and may return. Pages by offset or, better, by
    the keyset cursor `after`; returns the page and the cursor of the next one (None at the end).
    """
    statuses = ["in_review"] if watch else [status] if status else ["in_review", "returned"]
    held = ("level <> $1 AND view->'watch_levels' ? $1" if watch else "level = $1")
    at, last = after if after else (None, None)
    rows = await conn.fetch(
        f"SELECT view, arrived_at, case_id FROM {schema}.cases WHERE {held} "
        f"AND division_code LIKE $2 "
        f"AND status = ANY($3::text[]) AND ($4::text IS NULL OR subject_kind = $4) "
        f"AND ($5::text IS NULL OR task_id = $5) "
        f"AND ($8::timestamptz IS NULL OR (arrived_at, case_id) > ($8, $9::uuid)) "
        f"ORDER BY arrived_at, case_id LIMIT $6 OFFSET $7",
        level.value, scope_prefix(scope) + "%", statuses, kind, task_id, limit + 1, offset,
        at, last)
    now = datetime.now(timezone.utc)
    page = rows[:limit]
    next_cursor = (encode_cursor(page[-1]["arrived_at"], page[-1]["case_id"])
                   if len(rows) > limit else None)
    return [with_late(r["view"], now) for r in page], next_cursor


async def case_by_id(conn: asyncpg.Connection, schema: str, case_id: UUID) -> dict | None:
    view = await conn.fetchval(f"SELECT view FROM {schema}.cases WHERE case_id = $1", case_id)
    return with_late(view, datetime.now(timezone.utc)) if view else None


async def history(conn: asyncpg.Connection, schema: str, case_id: UUID) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        f"SELECT version, event_id, event_type, action, at, actor, actor_name, role, division, "
        f"device, from_level, to_level, revision, comment, reason_code, reason, field_notes, "
        f"final FROM {schema}.case_steps WHERE case_id = $1 ORDER BY version", case_id)
    out = []
    for r in rows:
        step = dict(r)
        step["event_id"] = str(step["event_id"])
        step["at"] = step["at"].isoformat()
        step["field_notes"] = json.loads(step["field_notes"])
        if step["action"] == "accept":
            step["final"] = step["final"] is not False  # older rows: acceptance was final
        step["label_zh"] = step_label(step)
        out.append(step)
    return out


def _zh(level: str | None) -> str:
    return Level(level).label_zh if level in Level._value2member_map_ else (level or "")


def step_label(step: dict[str, Any]) -> str:
    """What a history step was, in words: 乡镇数据验收 (early) vs 自治区审核确认 (final), …"""
    action, src, dst = step["action"], step.get("from_level"), step.get("to_level")
    if action == "accept":
        return f"{_zh(src)}审核确认" if step.get("final", True) else f"{_zh(src)}数据验收"
    if action == "approve":
        return f"{_zh(src)}审核通过，报{_zh(dst)}"
    if action == "return":
        return f"{_zh(src)}退回{'报送人' if dst == Level.village.value else _zh(dst)}"
    return {"open": "报送", "resubmit": "重新报送", "reopen": f"{_zh(dst)}重新打开",
            "overdue": f"{_zh(src)}审核超期"}.get(action, action)


PROGRESS_LABELS = {
    "expected": "应报", "not_started": "未报", "submitted": "已报", "returned": "已退回",
    "accepted_early": "已验收（待确认）", "confirmed": "已确认", "accepted": "已确认（同 confirmed）",
    "late": "超期"}
"""Chinese names of the progress counts: 已验收 = accepted early (e.g. 乡镇数据验收) and waiting for
the final level's confirmation; 已确认 = accepted by the final level (e.g. 自治区审核确认)."""


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
        f"count(*) FILTER (WHERE status = 'in_review' AND accepted_level IS NOT NULL) "
        f"AS accepted_early, "
        f"count(*) FILTER (WHERE late OR (status = 'in_review' AND deadline <= now())) AS late "
        f"FROM {schema}.cases WHERE task_id = $1 AND division_code LIKE $2 GROUP BY 1",
        task_id, prefix_of(division) + "%", child_len)
    by_prefix = {r["child"]: r for r in rows}
    items = [_progress_item(c["code"], c["name"], c["village_count"],
                            by_prefix.get(c["code"][:child_len])) for c in children]
    total = _progress_item(parent["code"], parent["name"], parent["village_count"], None)
    for key in ("submitted", "returned", "accepted", "accepted_early", "confirmed", "late",
                "not_started"):
        total[key] = sum(i[key] for i in items)
    total["at_level"] = {lv.value: sum(i["at_level"][lv.value] for i in items)
                         for lv in _REVIEW_LEVELS}
    return {"task_id": task_id, "division": division, "total": total, "children": items,
            "labels": PROGRESS_LABELS}


def _progress_item(code: str, name: str, expected: int, r: asyncpg.Record | None) -> dict:
    get = (lambda k: int(r[k])) if r is not None else (lambda k: 0)
    submitted = get("submitted")
    return {"code": code, "name": name, "expected": expected,
            "not_started": max(expected - submitted, 0),
            "draft": 0,  # drafts live in the domain services; not tracked here
            "submitted": submitted,
            "at_level": {lv.value: get(f"at_{lv.value}") for lv in _REVIEW_LEVELS},
            "returned": get("returned"), "accepted": get("accepted"),
            "accepted_early": get("accepted_early"), "confirmed": get("accepted"),
            "late": get("late")}


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
