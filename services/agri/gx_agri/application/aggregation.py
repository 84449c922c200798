"""汇总与溯源: totals of every indicator at a division, with the children and villages behind them."""
from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from gx_contracts.divisions import Level, is_valid_code, level_of, prefix_of
from gx_kernel.errors import AppError, NotFound
from gx_kernel.identity import Principal
from gx_kernel.service import ServiceRuntime

from gx_agri.adapters import repo, totals_sql
from gx_agri.application.access import jurisdiction, require_reviewer_over
from gx_agri.domain import numbers
from gx_agri.domain.catalogue import Form, default_catalogue
from gx_agri.domain.report import required_rank

CHILD = {Level.region: Level.city, Level.city: Level.county, Level.county: Level.township,
         Level.township: Level.village, Level.village: Level.village}


async def resolve_scope(conn, s, p: Principal, task_id: uuid.UUID, division: str | None):
    t = await repo.task(conn, s, task_id)
    mine = jurisdiction(p)
    if t is None or not (mine.startswith(t["scope_prefix"]) or t["scope_prefix"].startswith(mine)):
        raise NotFound("报表任务", str(task_id))
    if division is None:  # the smaller of task scope and the caller's jurisdiction
        division = t["scope_division"] if len(t["scope_prefix"]) >= len(mine) else mine.ljust(12, "0")
    if not is_valid_code(division):
        raise AppError(422, "bad_division", f"区划代码“{division}”应为12位数字", field="division")
    if await repo.division(conn, s, division) is None:
        raise AppError(404, "unknown_division", f"区划代码 {division} 不存在", field="division")
    require_reviewer_over(p, division)
    form = default_catalogue().get(t["form_code"], t["form_version"])
    return t, division, level_of(division), form


def rounded_totals(form: Form, sums: dict[str, Decimal | None]) -> dict[str, int | float]:
    """Each indicator's sum rounded once to its decimals (bounded: never fails on a stored value)."""
    out: dict[str, int | float] = {}
    for ind in form.indicators:
        v = numbers.rounded(sums.get(ind.code), ind.decimals)
        if v is not None:
            out[ind.code] = v
    return out


async def totals(rt: ServiceRuntime, p: Principal, task_id: uuid.UUID, division: str | None,
                 basis: str) -> dict[str, Any]:
    s = rt.settings.schema
    async with rt.pool.acquire() as conn:
        t, division, level, form = await resolve_scope(conn, s, p, task_id, division)
        child = CHILD[level]
        rank = required_rank(level)
        by_child, counts = await totals_sql.child_totals(
            conn, s, task_id, prefix_of(division), basis, rank, child.prefix_len)
        names = await totals_sql.division_names(
            conn, s, [c.ljust(12, "0") for c in counts])
    # The division's total is the sum of its children's: equal by construction, exactly.
    grand: dict[str, Decimal] = {}
    for sums in by_child.values():
        for code, v in sums.items():
            grand[code] = grand.get(code, Decimal(0)) + v
    children = [{"division": c.ljust(12, "0"), "name": names.get(c.ljust(12, "0")),
                 "level": child.value, "report_count": counts[c],
                 "totals": rounded_totals(form, by_child.get(c, {}))} for c in sorted(counts)]
    return {"task_id": str(task_id), "form_code": form.code, "form_version": form.version,
            "period": t["period"], "division": division, "level": level.value, "basis": basis,
            "min_approved_level": list(Level)[rank].value if basis == "approved" else None,
            "report_count": sum(counts.values()), "totals": rounded_totals(form, grand),
            "indicators": [i.as_dict() for i in form.indicators],
            "children": children if level != Level.village else []}


async def drilldown(rt: ServiceRuntime, p: Principal, task_id: uuid.UUID, division: str | None,
                    basis: str, indicator: str | None, limit: int, offset: int,
                    after: str | None = None) -> dict[str, Any]:
    s = rt.settings.schema
    async with rt.pool.acquire() as conn:
        t, division, level, form = await resolve_scope(conn, s, p, task_id, division)
        if indicator is not None and form.indicator(indicator) is None:
            raise AppError(422, "unknown_indicator",
                           f"报表 {form.code} 没有指标代码“{indicator}”", field="indicator")
        rank = required_rank(level)
        rows = await totals_sql.drilldown(conn, s, task_id, prefix_of(division), basis, rank,
                                          limit, offset, after)
    items = []
    for r in rows:
        item = {"village_code": r["village_code"], "village_name": r["village_name"],
                "report_id": str(r["report_id"]), "revision": r["revision"],
                "version": r["version"], "status": r["status"],
                "approved_level": list(Level)[r["approved_rank"]].value if r["approved_rank"] else None,
                "accepted_level": r["accepted_level"], "confirmed_level": r["confirmed_level"],
                "submitted_at": r["submitted_at"].isoformat() if r["submitted_at"] else None}
        if indicator:
            item["value"] = r["vals"].get(indicator)
        else:
            item["values"] = r["vals"]
        items.append(item)
    return {"task_id": str(task_id), "division": division, "level": level.value, "basis": basis,
            "indicator": indicator, "items": items, "limit": limit, "offset": offset,
            "next_after": items[-1]["village_code"] if len(items) == limit else None}
