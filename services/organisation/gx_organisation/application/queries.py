"""Read side: lists inside the reader's jurisdiction, subsidies due, training completion,
assessment roll-ups."""
from __future__ import annotations

import json
import uuid
from collections import defaultdict
from datetime import date
from typing import Any

from gx_contracts.divisions import prefix_of
from gx_kernel.errors import NotFound
from gx_kernel.identity import Principal
from gx_kernel.service import ServiceRuntime

from gx_organisation.application.access import division_in_view, reader
from gx_organisation.application.progress import today_cst
from gx_organisation.domain import assessment, subsidy
from gx_organisation.domain.progress_report import FIGURES_ZH, SECTIONS_ZH, STATUS_ZH
from gx_organisation.domain.reform import (
    BASIS_ZH,
    MODE_ZH,
    OFFICE_ZH,
    ROLE_ZH,
    phase_label,
    training_due,
)

MAX_ROWS = 5000


def _j(v: Any) -> Any:
    return json.loads(v) if isinstance(v, str) else v


def _plain(r: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in dict(r).items():
        out[k] = (v.isoformat() if isinstance(v, date) else str(v) if isinstance(v, uuid.UUID)
                  else _j(v) if k in ("members", "sections", "figures", "attachments", "audience",
                                      "scores", "rates") else v)
    return out


async def offices(rt: ServiceRuntime, p: Principal, division: str | None) -> dict[str, Any]:
    code = division_in_view(p, division)
    rows = await rt.pool.fetch(
        f"SELECT o.*, d.name AS division_name FROM {rt.settings.schema}.offices o "
        f"JOIN {rt.settings.schema}.divisions d ON d.code = o.division_code "
        f"WHERE o.division_code LIKE $1 ORDER BY o.division_code, o.kind LIMIT {MAX_ROWS}",
        prefix_of(code) + "%")
    return {"items": [{**_plain(r), "kind_zh": OFFICE_ZH[r["kind"]]} for r in rows]}


async def appointments(rt: ServiceRuntime, p: Principal, division: str | None,
                       role: str | None, active_only: bool) -> dict[str, Any]:
    code = division_in_view(p, division)
    s = rt.settings.schema
    rows = await rt.pool.fetch(
        f"SELECT a.*, d.name AS division_name FROM {s}.appointments a "
        f"JOIN {s}.divisions d ON d.code = a.division_code WHERE a.division_code LIKE $1 "
        f"AND ($2::text IS NULL OR a.role = $2) AND (NOT $3 OR (a.start_date <= $4 AND "
        f"(a.end_date IS NULL OR a.end_date >= $4))) ORDER BY a.division_code, a.person_name "
        f"LIMIT {MAX_ROWS}", prefix_of(code) + "%", role, active_only, today_cst())
    return {"items": [{**_plain(r), "role_zh": ROLE_ZH[r["role"]],
                       "staffing_mode_zh": MODE_ZH[r["staffing_mode"]]} for r in rows]}


async def reform(rt: ServiceRuntime, p: Principal, year: int) -> dict[str, Any]:
    """The reform's scope as everyone may read it (the whole of Guangxi), plans and groups
    inside the reader's jurisdiction."""
    scope = reader(p)
    s = rt.settings.schema
    row = await rt.pool.fetchrow(f"SELECT * FROM {s}.reforms WHERE year = $1", year)
    if row is None:
        raise NotFound("改革范围", str(year))
    counties = await rt.pool.fetch(
        f"SELECT c.*, d.name, cd.name AS city_name FROM {s}.reform_counties c "
        f"JOIN {s}.divisions d ON d.code = c.county_code "
        f"JOIN {s}.divisions cd ON cd.code = d.parent_code WHERE c.year = $1 "
        f"ORDER BY c.county_code", year)
    plans = await rt.pool.fetch(f"SELECT p.*, d.name FROM {s}.plans p JOIN {s}.divisions d "
                                f"ON d.code = p.division_code WHERE p.year = $1 AND "
                                f"p.division_code LIKE $2 ORDER BY p.division_code", year,
                                scope + "%")
    groups = await rt.pool.fetch(f"SELECT g.*, d.name AS division_name FROM {s}.leading_groups g "
                                 f"JOIN {s}.divisions d ON d.code = g.division_code WHERE "
                                 f"g.year = $1 AND g.division_code LIKE $2 ORDER BY g.division_code",
                                 year, scope + "%")
    phases = _j(row["phases"])
    chosen = {c["chosen_by"] for c in counties if c["chosen_by"]}
    return {"year": year, "title": row["title"], "document_no": row["document_no"],
            "phases": phases, "phase_today": phase_label(phases, today_cst()),
            "report_due_dates": _j(row["report_due_dates"]),
            "choosing_cities": [{"city_code": c, "chosen": c in chosen}
                                for c in _j(row["choosing_cities"])],
            "counties": [{**_plain(c), "basis_zh": BASIS_ZH[c["basis"]]} for c in counties],
            "plans": [_plain(x) for x in plans], "leading_groups": [_plain(x) for x in groups],
            "version": row["version"]}


async def progress_reports(rt: ServiceRuntime, p: Principal, year: int,
                           division: str | None) -> dict[str, Any]:
    code = division_in_view(p, division)
    s = rt.settings.schema
    rows = await rt.pool.fetch(
        f"SELECT r.report_id, r.year, r.due_date, r.county_code, r.status, r.version, "
        f"r.revision, r.review_level, r.late, r.submitted_at, d.name FROM {s}.progress_reports r "
        f"JOIN {s}.divisions d ON d.code = r.county_code WHERE r.year = $1 AND "
        f"r.county_code LIKE $2 ORDER BY r.county_code, r.due_date", year, prefix_of(code) + "%")
    return {"items": [{**_plain(r), "submitted_at": r["submitted_at"] and
                       r["submitted_at"].isoformat(), "status_zh": STATUS_ZH[r["status"]]}
                      for r in rows]}


async def progress_report(rt: ServiceRuntime, p: Principal, county: str,
                          due: date) -> dict[str, Any]:
    from gx_organisation.domain.progress_report import report_id_for
    scope = reader(p)
    s = rt.settings.schema
    if not county.startswith(scope):
        raise NotFound("推进情况报告", f"{county}/{due}")
    row = await rt.pool.fetchrow(f"SELECT * FROM {s}.progress_reports WHERE report_id = $1",
                                 report_id_for(county, due))
    base = {"county_code": county, "due_date": due.isoformat(), "sections_zh": SECTIONS_ZH,
            "figures_zh": FIGURES_ZH}
    if row is None:
        return {**base, "report_id": str(report_id_for(county, due)), "status": "not_started",
                "status_zh": STATUS_ZH["not_started"], "version": 0, "revision": 0,
                "sections": {}, "figures": {}, "attachments": []}
    d = _plain(row)
    d["submitted_at"] = row["submitted_at"] and row["submitted_at"].isoformat()
    d["updated_at"] = row["updated_at"].isoformat()
    log = await rt.pool.fetch(f"SELECT type, data, metadata, at FROM {s}.progress_review_log "
                              f"WHERE report_id = $1 ORDER BY at", row["report_id"])
    d["history"] = [{"type": x["type"], "at": x["at"].isoformat(),
                     "actor_name": _j(x["metadata"]).get("actor_name"),
                     "comment": _j(x["data"]).get("comment") or _j(x["data"]).get("reason")}
                    for x in log]
    return {**base, **d, "status_zh": STATUS_ZH[row["status"]]}


async def subsidies(rt: ServiceRuntime, p: Principal, period: str,
                    division: str | None) -> dict[str, Any]:
    """工作补助 due for a month: per person, and summed by the child divisions."""
    code = division_in_view(p, division)
    s = rt.settings.schema
    year = int(period[:4])
    rate_rows = await rt.pool.fetch(f"SELECT division_code, rates FROM {s}.subsidy_rates "
                                    f"WHERE year = $1", year)
    rates = {prefix_of(r["division_code"]): [subsidy.Rate(x["role"], x["basis"],
                                                          float(x["amount"]))
                                             for x in _j(r["rates"])] for r in rate_rows}
    rows = await rt.pool.fetch(
        f"SELECT a.appointment_id, a.person_name, a.role, a.division_code, a.start_date, "
        f"a.end_date, a.staffing_mode, d.name, coalesce(w.units, 0) units "
        f"FROM {s}.appointments a JOIN {s}.divisions d ON d.code = a.division_code "
        f"LEFT JOIN {s}.workloads w ON w.appointment_id = a.appointment_id AND w.period = $2 "
        f"WHERE a.division_code LIKE $1 ORDER BY a.division_code, a.person_name LIMIT {MAX_ROWS}",
        prefix_of(code) + "%", period)
    child_len = {2: 4, 4: 6, 6: 9, 9: 12, 12: 12}[len(prefix_of(code))]
    items, sums = [], defaultdict(float)
    for r in rows:
        rate = subsidy.rate_for(rates, r["division_code"], r["role"])
        due = subsidy.amount_due(rate, r["start_date"], r["end_date"], period, r["units"])
        if rate is None or due == 0:
            continue
        items.append({"appointment_id": str(r["appointment_id"]), "person_name": r["person_name"],
                      "role_zh": ROLE_ZH[r["role"]], "division_code": r["division_code"],
                      "division_name": r["name"], "basis": rate.basis, "rate": rate.amount,
                      "units": r["units"], "amount": due})
        sums[r["division_code"][:child_len].ljust(12, "0")] += due
    names = {r["code"]: r["name"] for r in await rt.pool.fetch(
        f"SELECT code, name FROM {s}.divisions WHERE code = ANY($1)", list(sums))}
    return {"period": period, "division": code, "items": items,
            "by_division": [{"code": k, "name": names.get(k, k), "amount": round(v, 2)}
                            for k, v in sorted(sums.items())],
            "total": round(sum(sums.values()), 2)}


async def training(rt: ServiceRuntime, p: Principal, year: int,
                   division: str | None) -> dict[str, Any]:
    code = division_in_view(p, division)
    s = rt.settings.schema
    rows = await rt.pool.fetch(
        f"SELECT t.session_id, t.title, t.level, t.division_code, t.held_on, t.audience, "
        f"count(a.appointment_id) attendees, count(a.appointment_id) FILTER (WHERE a.completed) "
        f"completed FROM {s}.trainings t LEFT JOIN {s}.training_attendance a USING (session_id) "
        f"WHERE t.year = $1 AND t.division_code LIKE $2 GROUP BY t.session_id "
        f"ORDER BY t.held_on", year, prefix_of(code) + "%")
    items = []
    for r in rows:
        due = training_due(r["level"], year)
        items.append({**_plain(r), "due_by": due and due.isoformat(),
                      "on_time": None if due is None else r["held_on"] <= due,
                      "completion_rate": round(100 * r["completed"] / r["attendees"], 1)
                      if r["attendees"] else None})
    return {"year": year, "items": items}


async def assessments(rt: ServiceRuntime, p: Principal, year: int,
                      division: str | None) -> dict[str, Any]:
    code = division_in_view(p, division)
    s = rt.settings.schema
    rows = await rt.pool.fetch(
        f"SELECT a.township_code, d.name, a.criteria_version, a.scores, a.total, "
        f"a.model_standard FROM {s}.assessments a JOIN {s}.divisions d ON d.code = a.township_code "
        f"WHERE a.year = $1 AND a.township_code LIKE $2 ORDER BY a.total DESC, a.township_code",
        year, prefix_of(code) + "%")
    items = [{**_plain(r), "total": float(r["total"])} for r in rows]
    crit = assessment.latest()
    return {"year": year, "criteria": crit.as_dict(), "items": items,
            "model_townships": [i["name"] for i in items if i["model_standard"]],
            "average": round(sum(i["total"] for i in items) / len(items), 2) if items else None}
