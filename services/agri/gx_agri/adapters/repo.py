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
        f" scope_prefix, deadline, published_by, village_count, version)"
        f" VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)",
        t["task_id"], t["form_code"], t["form_version"], t["period"], t["title"],
        t["scope_division"], t["scope_prefix"], t["deadline"], t["published_by"],
        t["village_count"], t["version"])


async def copy_reports(conn, s: str, rows: list[tuple]) -> None:
    """Bulk path (COPY): one not-started report row per village of a task."""
    await conn.copy_records_to_table(
        "reports", schema_name=s, records=rows,
        columns=["report_id", "task_id", "village_code", "form_code", "form_version", "period"])


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


async def update_report(conn, s: str, report_id: uuid.UUID, **cols: Any) -> None:
    """Set projection columns (jsonb given as Python objects)."""
    names = list(cols)
    values = [json.dumps(v, ensure_ascii=False) if isinstance(v, dict) else v
              for v in cols.values()]
    sets = ", ".join(f"{n} = ${i + 2}" for i, n in enumerate(names))
    await conn.execute(f"UPDATE {s}.reports SET {sets}, updated_at = now() WHERE report_id = $1",
                       report_id, *values)


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


async def log_review_event(conn, s: str, event_id, report_id, type_: str, data: dict,
                           metadata: dict, at) -> bool:
    status = await conn.execute(
        f"INSERT INTO {s}.review_log (event_id, report_id, type, data, metadata, at)"
        f" VALUES ($1,$2,$3,$4,$5,$6) ON CONFLICT DO NOTHING", event_id, report_id, type_,
        json.dumps(data, ensure_ascii=False), json.dumps(metadata, ensure_ascii=False), at)
    return status.endswith("1")


async def review_log(conn, s: str, report_id: uuid.UUID) -> list[asyncpg.Record]:
    return await conn.fetch(f"SELECT * FROM {s}.review_log WHERE report_id = $1 ORDER BY at",
                            report_id)


async def save_state(conn, s: str, report_id: uuid.UUID, state: Any) -> None:
    """The report's lifecycle state (gx_contracts.lifecycle.SubmissionState) into its row."""
    lv = lambda level: level.value if level is not None else None  # noqa: E731
    await update_report(conn, s, report_id, status=state.status.value,
                        review_level=lv(state.review_level), approved_rank=state.approved_rank,
                        case_id=state.case_id, accepted_level=lv(state.accepted_level),
                        confirmed_level=lv(state.confirmed_level))
