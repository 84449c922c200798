"""归档：a village report (村存档 + 乡镇存档) and a township summary printed as PDF."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from typing import Any, Mapping

from gx_contracts.divisions import Level, is_valid_code, level_of
from gx_kernel.errors import AppError, Conflict
from gx_kernel.identity import Principal
from gx_kernel.service import ServiceRuntime

from gx_agri.adapters import pdf, repo
from gx_agri.application import aggregation
from gx_agri.application.queries import readable_report
from gx_agri.domain import numbers
from gx_agri.domain import report as rep
from gx_agri.domain.catalogue import Form, default_catalogue

CST = timezone(timedelta(hours=8))  # 北京时间: dates on paper are local dates
VILLAGE_COPIES = ("村存档", "乡镇存档")
SUMMARY_COPIES = ("乡镇存档", "县级存档")
PRINTABLE = frozenset({rep.SUBMITTED, rep.ACCEPTED, rep.CONFIRMED})


def _rows(form: Form, values: Mapping[str, Any]) -> list[pdf.Row]:
    return [pdf.Row(i.code, i.name, i.unit, numbers.text(values.get(i.code), i.decimals))
            for i in form.indicators]


def _date(at: datetime | None) -> str:
    d = (at or datetime.now(timezone.utc)).astimezone(CST)
    return f"{d.year}年{d.month}月{d.day}日"


async def report_pdf(rt: ServiceRuntime, p: Principal, report_id: uuid.UUID) -> tuple[bytes, str]:
    """What was submitted, accepted or confirmed, in two copies; any reader of the report may
    print it. The status line says which level accepted it and whether the region confirmed."""
    s = rt.settings.schema
    async with rt.pool.acquire() as conn:
        row = await readable_report(conn, s, p, report_id)
    if row["status"] not in PRINTABLE:
        raise Conflict("报表尚未报送（或已退回修改），只有已报送、已验收或已确认的报表可以打印存档",
                       code="report_not_submitted")
    form = default_catalogue().get(row["form_code"], row["form_version"])
    period = form.period_name(row["period"]) or row["period"]
    notes = [f"{form.indicator(k).name if form.indicator(k) else k}：{v}"
             for k, v in sorted(row["explanations"].items()) if v]
    sheet = pdf.Sheet(
        title=f"{period}{form.name}", form_code=form.code, form_version=form.version,
        period_name=period, unit_name=row["village_name"] or row["village_code"],
        unit_code=row["village_code"], rows=_rows(form, row["vals"]),
        date=_date(row["submitted_at"]),
        facts=[f"状态：{rep.status_zh(row)}（第{row['revision']}次报送）　报表编号：{report_id}"],
        notes=notes)
    name = f"{form.code}_{row['period']}_{row['village_code']}.pdf"
    return pdf.render(sheet, VILLAGE_COPIES), name


async def summary_pdf(rt: ServiceRuntime, p: Principal, task_id: uuid.UUID,
                      division: str) -> tuple[bytes, str]:
    """A township's totals over its villages' reports approved by the township (or above)."""
    if not is_valid_code(division) or level_of(division) != Level.township:
        raise AppError(422, "not_a_township", f"区划代码“{division}”不是乡镇（街道）代码",
                       field="division")
    tot = await aggregation.totals(rt, p, task_id, division, "approved")
    form = default_catalogue().get(tot["form_code"], tot["form_version"])
    async with rt.pool.acquire() as conn:
        town = await repo.division(conn, rt.settings.schema, division)
        progress = await repo.progress(conn, rt.settings.schema, task_id, division[:9])
    expected = sum(progress.values())
    period = form.period_name(tot["period"]) or tot["period"]
    sheet = pdf.Sheet(
        title=f"{period}{form.name}（乡镇汇总）", form_code=form.code, form_version=form.version,
        period_name=period, unit_name=town["name"], unit_code=division,
        rows=_rows(form, tot["totals"]), date=_date(None),
        facts=[f"汇总范围：经乡镇审核通过（含以上）的村级报表 {tot['report_count']} 份，"
               f"应报 {expected} 个村（居）委会",
               f"其中已验收 {progress.get(rep.ACCEPTED, 0)} 份，"
               f"自治区已确认 {progress.get(rep.CONFIRMED, 0)} 份"])
    return pdf.render(sheet, SUMMARY_COPIES), f"{form.code}_{tot['period']}_{division}_summary.pdf"
