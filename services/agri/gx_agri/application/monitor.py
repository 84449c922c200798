"""进度监控：per child division, how far the reports are and what they add up to, in one answer.

Counts come from agri's own read model (it follows every review event of the workflow), so the
progress and the totals beside it are always of the same moment.
"""
from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from gx_contracts.divisions import Level, prefix_of
from gx_kernel.identity import Principal
from gx_kernel.service import ServiceRuntime

from gx_agri.adapters import monitor_sql, totals_sql
from gx_agri.application.aggregation import CHILD, resolve_scope, rounded_totals
from gx_agri.domain.catalogue import Form
from gx_agri.domain.report import required_rank

_COUNT_KEYS = ("expected",) + monitor_sql.STATES


def _progress(rows: list[dict]) -> dict[str, Any]:
    out: dict[str, Any] = {k: sum(r[k] for r in rows) for k in _COUNT_KEYS}
    for key in ("approved", "waiting", "accepted_by", "confirmed_by"):
        out[key] = {lv.value: sum(r[f"{key}_{lv.value}"] for r in rows)
                    for lv in monitor_sql.REVIEW_LEVELS}
    reported = out["submitted"] + out["accepted"] + out["confirmed"]
    out["submitted_rate"] = round(reported / out["expected"], 4) if out["expected"] else 0.0
    return out


def _totals(form: Form, per_child: list[dict[str, tuple]]) -> dict[str, dict]:
    """Sum children exactly (Decimal), then round once: the parent equals the sum below."""
    sub: dict[str, Decimal] = {}
    app: dict[str, Decimal] = {}
    for sums in per_child:
        for code, (s, a) in sums.items():
            sub[code] = sub.get(code, Decimal(0)) + s
            if a is not None:
                app[code] = app.get(code, Decimal(0)) + a
    return {"submitted": rounded_totals(form, sub), "approved": rounded_totals(form, app)}


async def stamp(rt: ServiceRuntime, p: Principal, task_id: uuid.UUID,
                division: str | None) -> str:
    """ETag of a monitor view (access checked): lets a polling console get 304 cheaply."""
    s = rt.settings.schema
    async with rt.pool.acquire() as conn:
        _, division, _, _ = await resolve_scope(conn, s, p, task_id, division)
        return await monitor_sql.stamp(conn, s, task_id, prefix_of(division))


async def monitor(rt: ServiceRuntime, p: Principal, task_id: uuid.UUID,
                  division: str | None) -> dict[str, Any]:
    s = rt.settings.schema
    async with rt.pool.acquire() as conn:
        t, division, level, form = await resolve_scope(conn, s, p, task_id, division)
    child = CHILD[level]
    prefix, rank = prefix_of(division), required_rank(level)

    async def run(q, *args):
        async with rt.pool.acquire() as c:
            return await q(c, s, task_id, prefix, *args)
    # the tag first: if a report changes while we read, the tag is older than the data and the
    # next poll simply reads again (never a 304 hiding a change)
    tag = await run(monitor_sql.stamp)
    # two independent scans: on separate connections they overlap on the server's cores
    counts, sums = await asyncio.gather(run(monitor_sql.counts, child.prefix_len),
                                        run(monitor_sql.sums, child.prefix_len, rank))
    async with rt.pool.acquire() as conn:
        names = await totals_sql.division_names(conn, s, [r["child"].ljust(12, "0") for r in counts])
    children = [{"division": r["child"].ljust(12, "0"), "name": names.get(r["child"].ljust(12, "0")),
                 "level": child.value, "progress": _progress([r]),
                 "totals": _totals(form, [sums.get(r["child"], {})]),
                 "last_change": r["last_change"].isoformat() if r["last_change"] else None}
                for r in counts]
    return {"task_id": str(task_id), "form_code": form.code, "form_version": form.version,
            "period": t["period"], "period_name": form.period_name(t["period"]),
            "division": division, "level": level.value,
            "child_level": child.value if level != Level.village else None,
            "min_approved_level": list(Level)[rank].value, "etag": tag,
            "as_of": datetime.now(UTC).isoformat(),
            "progress": _progress(counts), "totals": _totals(form, list(sums.values())),
            "indicators": [i.as_dict() for i in form.indicators],
            "children": children if level != Level.village else []}
