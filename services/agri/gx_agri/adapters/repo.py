"""SQL of the agri read models. Every function takes the connection (and its transaction)."""
from __future__ import annotations

import json
import math
import uuid
from typing import Any

import asyncpg

_REPORT_COLS = ("r.report_id, r.task_id, r.village_code, r.form_code, r.form_version, r.period, "
                "r.status, r.version, r.revision, r.vals, r.explanations, r.case_id, "
                "r.approved_rank, r.review_level, r.return_reason_code, r.return_reason, "
                "r.return_from_level, r.field_notes, r.submitted_at, r.updated_at, r.accepted_level, "
                "r.confirmed_level")


def _number(text: str) -> float | None:
    f = float(text)
    return f if math.isfinite(f) else None


def _int(text: str) -> int | float | None:
    return int(text) if len(text) <= 30 else _number(text)


def load_json(v: Any) -> Any:
    """jsonb as Python; a stored number beyond float or int limits reads as None, never an error."""
    if not isinstance(v, str):
        return v
    return json.loads(v, parse_float=_number, parse_int=_int)


def report_dict(row: asyncpg.Record) -> dict[str, Any]:
    d = dict(row)
    for k in ("vals", "explanations", "field_notes"):
        d[k] = load_json(d.get(k))
    return d


async def villages_under(conn, s: str, prefix: str) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"SELECT code, name FROM {s}.divisions WHERE level = 5 AND code LIKE $1 ORDER BY code",
        prefix + "%")


async def division(conn, s: str, code: str) -> asyncpg.Record | None:
    return await conn.fetchrow(f"SELECT code, name, level FROM {s}.divisions WHERE code = $1", code)


async def insert_task(conn, s: str, t: dict[str, Any]) -> None:
    await conn.execute(
        f"INSERT INTO {s}.tasks (task_id, form_code, form_version, period, title, scope_division,"
        f" scope_prefix, deadline, published_by, village_count, version, published_at)"
        f" VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12)",
        t["task_id"], t["form_code"], t["form_version"], t["period"], t["title"],
        t["scope_division"], t["scope_prefix"], t["deadline"], t["published_by"],
        t["village_count"], t["version"], t["published_at"])


async def copy_reports(conn, s: str, rows: list[tuple]) -> None:
    """Bulk path (COPY): one not-started report row per village of a task (updated_at = the
    task's publication)."""
    await conn.copy_records_to_table(
        "reports", schema_name=s, records=rows,
        columns=["report_id", "task_id", "village_code", "form_code", "form_version", "period",
                 "updated_at"])


async def task(conn, s: str, task_id: uuid.UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(f"SELECT * FROM {s}.tasks WHERE task_id = $1", task_id)


async def tasks_overlapping(conn, s: str, prefix: str) -> list[asyncpg.Record]:
    """Tasks whose scope contains, or lies inside, a jurisdiction."""
    return await conn.fetch(
        f"SELECT * FROM {s}.tasks WHERE $1 LIKE scope_prefix || '%' OR scope_prefix LIKE $1 || '%'"
        f" ORDER BY published_at DESC", prefix)


async def tasks_of_village(conn, s: str, village: str) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"SELECT t.*, r.report_id, r.status, r.version AS report_version, r.revision"
        f" FROM {s}.reports r JOIN {s}.tasks t USING (task_id)"
        f" WHERE r.village_code = $1 ORDER BY t.deadline", village)


async def progress(conn, s: str, task_id: uuid.UUID, prefix: str) -> dict[str, int]:
    rows = await conn.fetch(
        f"SELECT status, count(*) AS n FROM {s}.reports WHERE task_id = $1"
        f" AND village_code LIKE $2 GROUP BY status", task_id, prefix + "%")
    return {r["status"]: r["n"] for r in rows}


async def report(conn, s: str, report_id: uuid.UUID, lock: bool = False) -> dict[str, Any] | None:
    row = await conn.fetchrow(
        f"SELECT {_REPORT_COLS}, d.name AS village_name FROM {s}.reports r"
        f" LEFT JOIN {s}.divisions d ON d.code = r.village_code WHERE r.report_id = $1"
        + (" FOR UPDATE OF r" if lock else ""), report_id)
    return report_dict(row) if row else None


async def last_accepted(conn, s: str, village: str, form_code: str,
                        before_period: str) -> asyncpg.Record | None:
    """The village's last accepted (or confirmed) report of this form, preferring the same period
    a year back."""
    year, _, suffix = before_period.partition("-")
    same = f"{int(year) - 1}{'-' + suffix if suffix else ''}"
    return await conn.fetchrow(
        f"SELECT period, vals FROM {s}.reports WHERE village_code = $1 AND form_code = $2"
        f" AND status IN ('accepted', 'confirmed') AND period < $3"
        f" ORDER BY (period = $4) DESC, period DESC LIMIT 1", village, form_code, before_period, same)


async def log_review_steps(conn, s: str, rows: list[tuple]) -> None:
    """review_log rows (event_id, report_id, type, data json, metadata json, at); a step kept
    already is left as it is."""
    if rows:
        await conn.executemany(
            f"INSERT INTO {s}.review_log (event_id, report_id, type, data, metadata, at)"
            f" VALUES ($1,$2,$3,$4,$5,$6) ON CONFLICT DO NOTHING", rows)


async def review_log(conn, s: str, report_id: uuid.UUID) -> list[asyncpg.Record]:
    return await conn.fetch(f"SELECT * FROM {s}.review_log WHERE report_id = $1 ORDER BY at",
                            report_id)


async def reports_by_id(conn, s: str, ids: list[uuid.UUID]) -> dict[uuid.UUID, dict[str, Any]]:
    """Report rows by id (the projection folds its events onto them)."""
    rows = await conn.fetch(f"SELECT {_REPORT_COLS} FROM {s}.reports r"
                            f" WHERE r.report_id = ANY($1::uuid[])", ids)
    return {r["report_id"]: report_dict(r) for r in rows}


async def save_reports(conn, s: str, rows: list[tuple]) -> None:
    """Every projected column of report rows (tuples in this order; jsonb as JSON text)."""
    await conn.executemany(
        f"UPDATE {s}.reports SET status = $2, version = $3, revision = $4, vals = $5,"
        f" explanations = $6, case_id = $7, approved_rank = $8, review_level = $9,"
        f" return_reason_code = $10, return_reason = $11, return_from_level = $12,"
        f" field_notes = $13, submitted_at = $14, updated_at = $15, accepted_level = $16,"
        f" confirmed_level = $17 WHERE report_id = $1", rows)
