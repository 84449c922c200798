"""The dashboard's figures per child division, each one grouped SQL scan (prefix of the code)."""
from __future__ import annotations

import json
from collections import defaultdict
from datetime import date
from typing import Any


async def children(conn: Any, s: str, code: str) -> list[dict[str, Any]]:
    rows = await conn.fetch(f"SELECT code, name, level FROM {s}.divisions WHERE parent_code = $1 "
                            f"ORDER BY code", code)
    return [dict(r) for r in rows]


async def reform_row(conn: Any, s: str, year: int | None) -> dict[str, Any] | None:
    q = f"SELECT * FROM {s}.reforms " + ("WHERE year = $1" if year else "ORDER BY year DESC LIMIT 1")
    row = await (conn.fetchrow(q, year) if year else conn.fetchrow(q))
    if row is None:
        return None
    d = dict(row)
    for k in ("phases", "report_due_dates", "choosing_cities"):
        d[k] = json.loads(d[k])
    return d


async def by_prefix(conn: Any, sql: str, n: int, *args: Any) -> dict[str, dict[str, Any]]:
    """Rows of `sql` (first column `k` = left(code, n)) keyed by that prefix."""
    return {r["k"]: dict(r) for r in await conn.fetch(sql, n, *args)}


async def figures(conn: Any, s: str, prefix: str, n: int, year: int, today: date
                  ) -> dict[str, dict[str, dict[str, Any]]]:
    """Every figure of the dashboard for the children (prefix length n) under `prefix`."""
    like = prefix + "%"
    active = "start_date <= $3 AND (end_date IS NULL OR end_date >= $3)"
    out: dict[str, dict[str, dict[str, Any]]] = {}
    out["reform"] = await by_prefix(conn, (
        f"SELECT left(county_code, $1) k, count(*) counties, "
        f"string_agg(basis, ',' ORDER BY basis) bases FROM {s}.reform_counties "
        f"WHERE year = $3 AND county_code LIKE $2 GROUP BY 1"), n, like, year)
    out["plans"] = await by_prefix(conn, (
        f"SELECT left(division_code, $1) k, count(*) plans, max(filed_on) last_filed "
        f"FROM {s}.plans WHERE year = $3 AND division_code LIKE $2 GROUP BY 1"), n, like, year)
    out["offices"] = await by_prefix(conn, (
        f"SELECT left(division_code, $1) k, "
        f"coalesce(sum(establishment) FILTER (WHERE kind = 'county_management'), 0) establishment, "
        f"count(*) FILTER (WHERE kind = 'county_management') county_offices, "
        f"count(*) FILTER (WHERE kind = 'township_office') township_offices "
        f"FROM {s}.offices WHERE division_code LIKE $2 GROUP BY 1"), n, like)
    out["staff"] = await by_prefix(conn, (
        f"SELECT left(division_code, $1) k, count(*) staff, "
        f"count(*) FILTER (WHERE staffing_mode = 'dispatched') dispatched, "
        f"count(*) FILTER (WHERE staffing_mode = 'full_time') full_time, "
        f"count(*) FILTER (WHERE staffing_mode = 'purchased_service') purchased_service, "
        f"count(*) FILTER (WHERE staffing_mode = 'part_time') part_time, "
        f"count(*) FILTER (WHERE in_establishment) in_establishment, "
        f"count(DISTINCT division_code) FILTER (WHERE role = 'village_coordinator') "
        f"villages_with_coordinator, count(*) FILTER (WHERE role = 'grid_worker') grid_workers "
        f"FROM {s}.appointments WHERE division_code LIKE $2 AND {active} GROUP BY 1"),
        n, like, today)
    out["units"] = await by_prefix(conn, (
        f"SELECT left(code, $1) k, count(*) FILTER (WHERE level = 4) townships, "
        f"count(*) FILTER (WHERE level = 5) villages FROM {s}.divisions "
        f"WHERE code LIKE $2 AND level >= 4 GROUP BY 1"), n, like)
    out["training"] = await by_prefix(conn, (
        f"SELECT left(a.division_code, $1) k, count(DISTINCT a.appointment_id) trained "
        f"FROM {s}.appointments a JOIN {s}.training_attendance t USING (appointment_id) "
        f"JOIN {s}.trainings tr ON tr.session_id = t.session_id "
        f"WHERE a.division_code LIKE $2 AND t.completed AND tr.year = $4 "
        f"AND a.start_date <= $3 AND (a.end_date IS NULL OR a.end_date >= $3) GROUP BY 1"),
        n, like, today, year)
    out["reports"] = await by_prefix(conn, (
        f"SELECT left(county_code, $1) k, count(*) FILTER (WHERE status <> 'not_started') started, "
        f"count(*) FILTER (WHERE status IN ('submitted', 'accepted', 'confirmed')) submitted, "
        f"count(*) FILTER (WHERE status = 'confirmed') confirmed, "
        f"count(*) FILTER (WHERE status = 'returned') returned, "
        f"count(*) FILTER (WHERE late) late, count(*) FILTER (WHERE revision > 0 AND "
        f"due_date <= $4) due_submitted FROM {s}.progress_reports "
        f"WHERE year = $3 AND county_code LIKE $2 GROUP BY 1"), n, like, year, today)
    out["assessment"] = await by_prefix(conn, (
        f"SELECT left(township_code, $1) k, count(*) scored, round(avg(total), 2) avg_total, "
        f"count(*) FILTER (WHERE model_standard) model FROM {s}.assessments "
        f"WHERE year = $3 AND township_code LIKE $2 GROUP BY 1"), n, like, year)
    return out


async def report_statuses(conn: Any, s: str, prefix: str, year: int) -> dict[str, list[dict[str, Any]]]:
    """Each county's progress reports of the year (for a county row's detail)."""
    rows = await conn.fetch(
        f"SELECT county_code, due_date, status, review_level, late FROM {s}.progress_reports "
        f"WHERE year = $1 AND county_code LIKE $2 ORDER BY due_date", year, prefix + "%")
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        out[r["county_code"]].append(dict(r))
    return out
