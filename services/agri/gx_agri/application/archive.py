"""归档：a village report (村存档 + 乡镇存档) and the summary of any division printed as PDF,
with the form header from the catalogue and the approval trail from the report's history."""
from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from gx_contracts.divisions import Level, is_valid_code, level_of, prefix_of
from gx_kernel.errors import AppError, Conflict
from gx_kernel.identity import Principal
from gx_kernel.service import ServiceRuntime

from gx_agri.adapters import pdf, repo, totals_sql
from gx_agri.application import aggregation, paper, queries
from gx_agri.application.queries import readable_report
from gx_agri.domain import numbers
from gx_agri.domain import report as rep
from gx_agri.domain.catalogue import Form, default_catalogue
from gx_agri.domain.report import required_rank

VILLAGE_COPIES = ("村存档", "乡镇存档")
SUMMARY_COPIES = {Level.township: ("乡镇存档", "县级存档"), Level.county: ("县级存档", "市级存档"),
                  Level.city: ("市级存档", "自治区存档"), Level.region: ("自治区存档",)}
PRINTABLE = frozenset({rep.SUBMITTED, rep.ACCEPTED, rep.CONFIRMED})
# the steps of the approval trail printed on paper (drafts and opened cases are not)
TRAIL = frozenset({"agri.report.submitted", "workflow.case.resubmitted", "workflow.case.approved",
                   "workflow.case.returned", "workflow.case.accepted"})


def _rows(form: Form, values: Mapping[str, Any]) -> list[pdf.Row]:
    return [pdf.Row(n, i.name, i.unit, numbers.text(values.get(i.code), i.decimals))
            for n, i in enumerate(form.indicators, start=1)]


async def _trail(rt: ServiceRuntime, p: Principal, report_id: uuid.UUID) -> list[pdf.Step]:
    steps = [s for s in (await queries.history(rt, p, report_id))["steps"] if s["what"] in TRAIL]
    codes = sorted({s["division"] for s in steps if s.get("division")})
    async with rt.pool.acquire() as conn:
        names = await totals_sql.division_names(conn, rt.settings.schema, codes) if codes else {}
    return [pdf.Step(s["what_zh"], paper.person(s["who_name"], s["role"], names.get(s["division"])),
                     paper.local(s["when"]).strftime("%Y-%m-%d %H:%M")) for s in steps]


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
    period = paper.period_zh(form, row["period"])
    notes = [f"{form.indicator(k).name if form.indicator(k) else k}：{v}"
             for k, v in sorted(row["explanations"].items()) if v]
    unit = row["village_name"] or row["village_code"]
    status = rep.status_zh(row)
    sheet = pdf.Sheet(
        title=f"{period}{form.name}", form_code=form.code, form_version=form.version,
        period_name=period, unit_name=unit, unit_code=row["village_code"],
        rows=_rows(form, row["vals"]), date=paper.date_zh(row["submitted_at"]),
        facts=[f"状态：{status}（第{row['revision']}次报送）"], notes=notes,
        header=paper.header(form.code, form.version), trail=await _trail(rt, p, report_id))
    return pdf.render(sheet, VILLAGE_COPIES), paper.file_name(unit, period + form.name, status) + ".pdf"


async def summary_pdf(rt: ServiceRuntime, p: Principal, task_id: uuid.UUID,
                      division: str) -> tuple[bytes, str]:
    """A township's, county's, city's or the region's totals over the villages' reports approved
    at its level (or above): what that level vouches for."""
    if not is_valid_code(division) or level_of(division) == Level.village:
        raise AppError(422, "not_a_summary_division",
                       f"区划代码“{division}”应为乡镇（街道）、县、市或自治区的12位代码",
                       field="division")
    level = level_of(division)
    tot = await aggregation.totals(rt, p, task_id, division, "approved")
    form = default_catalogue().get(tot["form_code"], tot["form_version"])
    async with rt.pool.acquire() as conn:
        place = await repo.division(conn, rt.settings.schema, division)
        progress = await repo.progress(conn, rt.settings.schema, task_id, prefix_of(division))
    expected = sum(progress.values())
    period = paper.period_zh(form, tot["period"])
    approver = list(Level)[required_rank(level)]
    kind = f"{level.label_zh}汇总"
    sheet = pdf.Sheet(
        title=f"{period}{form.name}（{kind}）", form_code=form.code, form_version=form.version,
        period_name=period, unit_name=place["name"], unit_code=division,
        rows=_rows(form, tot["totals"]), date=paper.date_zh(None),
        facts=[f"汇总口径：本表数字为{paper.basis_zh('approved', approver)} "
               f"{tot['report_count']} 份之和，应报 {expected} 个村（居）委会",
               f"其中已验收 {progress.get(rep.ACCEPTED, 0)} 份，"
               f"自治区已确认 {progress.get(rep.CONFIRMED, 0)} 份",
               f"进度（与网页进度同一口径）：{paper.counts_zh(progress)}"],
        header=paper.header(form.code, form.version))
    name = paper.file_name(place["name"], period + form.name, kind)
    return pdf.render(sheet, SUMMARY_COPIES[level]), name + ".pdf"
