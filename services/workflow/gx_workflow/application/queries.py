"""Read side: queue (我的待办), case, history, progress (进度) — from the projections."""
from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg

from gx_contracts.divisions import Level, contains, is_valid_code, prefix_of

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
    now = datetime.now(UTC)
    page = rows[:limit]
    next_cursor = (encode_cursor(page[-1]["arrived_at"], page[-1]["case_id"])
                   if len(rows) > limit else None)
    return [with_late(r["view"], now) for r in page], next_cursor


async def case_by_id(conn: asyncpg.Connection, schema: str, case_id: UUID) -> dict | None:
    view = await conn.fetchval(f"SELECT view FROM {schema}.cases WHERE case_id = $1", case_id)
    return with_late(view, datetime.now(UTC)) if view else None


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
    "expected": "应报", "not_started": "未报", "returned": "退回", "submitted": "已报",
    "in_review": "审核中", "accepted_early": "已验收", "confirmed": "已确认",
    "accepted": "已确认", "late": "超期"}
"""Chinese names of the progress counts — one definition each (口径), used by every view:
应报 = villages of the division inside the task's scope = 未报 + 退回 + 审核中 + 已验收 + 已确认;
未报 = no case yet (drafts live in the domain service: workflow cannot see them, so 未报 includes
them); 退回 = returned and not yet resubmitted; 已报 = 审核中 + 已验收 + 已确认 (a case in review or
accepted; 退回 not included); 审核中 = in review, not yet accepted by any level; 已验收 = accepted
early (e.g. 乡镇数据验收), waiting for the final level; 已确认 = accepted by the final level
(`accepted` is its older name); 超期 = late, counted across the other states."""

PROGRESS_BASIS = ("应报 = 任务范围内的村数 = 未报 + 退回 + 审核中 + 已验收 + 已确认；"
                  "已报 = 审核中 + 已验收 + 已确认（不含退回）；未报含草稿"
                  "（草稿数由报表所属的业务服务给出，控制台另列“其中草稿”）")


async def task_scope(conn: asyncpg.Connection, schema: str, task_id: str) -> str | None:
    """The task's scope as its domain published it (None: not known, the whole tree counts)."""
    return await conn.fetchval(
        f"SELECT scope_division FROM {schema}.task_scopes WHERE task_id = $1", task_id)


def _overlap(a: str, b: str) -> str | None:
    """The smaller of two divisions if one contains the other, else None (disjoint)."""
    return b if contains(a, b) else a if contains(b, a) else None


async def progress(conn: asyncpg.Connection, schema: str, task_id: str,
                   division: str) -> dict[str, Any]:
    """Per child division of `division`: expected villages and where their cases stand.

    应报 follows the task's scope (from the domain's `*.task.published`): only the part of
    the tree inside the scope is counted, divisions outside it are not listed."""
    parent = await conn.fetchrow(
        f"SELECT code, name, level, village_count FROM {schema}.divisions WHERE code = $1",
        division)
    if parent is None:
        return {}
    scope = await task_scope(conn, schema, task_id)
    inside = _overlap(division, scope) if scope else division  # None: division outside scope
    children = [] if inside is None else await conn.fetch(
        f"SELECT code, name, level, village_count FROM {schema}.divisions "
        f"WHERE parent_code = $1 ORDER BY code", division)
    if scope and inside == scope and scope != division:  # the scope lies below `division`
        counts = await conn.fetchval(
            f"SELECT village_count FROM {schema}.divisions WHERE code = $1", scope) or 0
        children = [dict(c, village_count=counts) for c in children if contains(c["code"], scope)]
    child_len = Level.from_csv_level(parent["level"] + 1).prefix_len if parent["level"] < 5 else 12
    level_cols = ", ".join(
        f"count(*) FILTER (WHERE status = 'in_review' AND level = '{lv.value}') AS at_{lv.value}"
        for lv in _REVIEW_LEVELS)
    rows = [] if inside is None else await conn.fetch(
        f"SELECT left(division_code, $3) AS child, {level_cols}, "
        f"count(*) FILTER (WHERE status = 'returned') AS returned, "
        f"count(*) FILTER (WHERE status = 'accepted') AS accepted, "
        f"count(*) FILTER (WHERE status = 'in_review' AND accepted_level IS NULL) AS in_review, "
        f"count(*) FILTER (WHERE status = 'in_review' AND accepted_level IS NOT NULL) "
        f"AS accepted_early, "
        f"count(*) FILTER (WHERE late OR (status = 'in_review' AND deadline <= now())) AS late "
        f"FROM {schema}.cases WHERE task_id = $1 AND division_code LIKE $2 GROUP BY 1",
        task_id, prefix_of(inside or division) + "%", child_len)
    by_prefix = {r["child"]: r for r in rows}
    items = [_progress_item(c["code"], c["name"], c["village_count"],
                            by_prefix.get(c["code"][:child_len])) for c in children]
    if parent["level"] == 5:  # a village's own view: its own case(s), no children
        total = _progress_item(parent["code"], parent["name"],
                               parent["village_count"] if inside else 0,
                               by_prefix.get(parent["code"][:child_len]))
    else:
        total = _progress_item(parent["code"], parent["name"], 0, None)
        for key in ("expected", "not_started", "submitted", "returned", "in_review",
                    "accepted", "accepted_early", "confirmed", "late"):
            total[key] = sum(i[key] for i in items)
        total["at_level"] = {lv.value: sum(i["at_level"][lv.value] for i in items)
                             for lv in _REVIEW_LEVELS}
    return {"task_id": task_id, "division": division, "scope": scope, "total": total,
            "children": items, "labels": PROGRESS_LABELS, "basis": PROGRESS_BASIS}


def _progress_item(code: str, name: str, expected: int, r: asyncpg.Record | None) -> dict:
    get = (lambda k: int(r[k])) if r is not None else (lambda k: 0)
    returned, in_review = get("returned"), get("in_review")
    early, confirmed = get("accepted_early"), get("accepted")
    submitted = in_review + early + confirmed
    return {"code": code, "name": name, "expected": expected,
            "not_started": max(expected - submitted - returned, 0),
            "draft": None,  # drafts live in the domain services: unknown here, inside 未报
            "submitted": submitted, "returned": returned, "in_review": in_review,
            "at_level": {lv.value: get(f"at_{lv.value}") for lv in _REVIEW_LEVELS},
            "accepted": confirmed, "accepted_early": early, "confirmed": confirmed,
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
