"""Progress reports (推进情况报告): a county saves and submits; the review chain does the rest."""
from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from gx_contracts.commands.organisation import SaveProgressDraft, SubmitProgressReport
from gx_contracts.divisions import Level
from gx_contracts.lifecycle import NotEditable
from gx_kernel.errors import AppError, Conflict
from gx_kernel.eventstore import ConcurrencyError
from gx_kernel.identity import Principal
from gx_kernel.service import ServiceRuntime
from gx_kernel.uow import UnitOfWork

from gx_organisation.application.access import metadata, require_level, writer
from gx_organisation.application.unit import division_name, unit_of_work
from gx_organisation.domain.progress_report import STATUS_ZH, ProgressReport, report_id_for

CST = timezone(timedelta(hours=8))  # 截止日按北京时间


def today_cst() -> date:
    return datetime.now(UTC).astimezone(CST).date()


async def _load(uow: UnitOfWork, s: str, p: Principal, county: str, due: date,
                expected: int) -> ProgressReport:
    require_level(county, {Level.county}, "county_code", "推进情况报告")
    writer(p, county, {"county_statistician"}, "填报推进情况报告")
    reform = await uow.conn.fetchrow(
        f"SELECT r.report_due_dates, c.county_code FROM {s}.reforms r LEFT JOIN "
        f"{s}.reform_counties c ON c.year = r.year AND c.county_code = $2 WHERE r.year = $1",
        due.year, county)
    if reform is None:
        raise AppError(422, "reform_not_found", f"{due.year} 年度尚未登记改革范围", field="due_date")
    if reform["county_code"] is None:
        raise AppError(422, "not_in_reform", f"区划 {county} 不在 {due.year} 年度改革范围内",
                       field="county_code")
    dues = json.loads(reform["report_due_dates"])
    if due.isoformat() not in dues:
        raise AppError(422, "not_a_due_date",
                       f"{due} 不是报送截止日；{due.year} 年度截止日：" + "、".join(dues),
                       field="due_date")
    rid = report_id_for(county, due)
    row = await uow.conn.fetchrow(f"SELECT * FROM {s}.progress_reports WHERE report_id = $1 "
                                  f"FOR UPDATE", rid)
    report = (ProgressReport.from_row(_decoded(row)) if row is not None
              else ProgressReport(report_id=rid, year=due.year, due_date=due, county_code=county))
    if not report.state.editable:
        raise _not_editable(NotEditable(report.state))
    if report.version != expected:
        raise ConcurrencyError(report.stream_id, expected, report.version)
    return report


def _decoded(row: Any) -> dict[str, Any]:
    d = dict(row)
    for k in ("sections", "figures", "attachments"):
        d[k] = json.loads(d[k]) if isinstance(d[k], str) else d[k]
    return d


def _not_editable(exc: NotEditable) -> Conflict:
    if exc.code == "report_read_only":
        return Conflict(f"推进情况报告{STATUS_ZH[exc.state.status.value]}，只读，不能修改",
                        code="report_read_only")
    return Conflict("推进情况报告已报送，正在审核中，不能修改；如需修改请联系审核人员退回",
                    code="report_under_review")


async def _commit(uow: UnitOfWork, s: str, report: ProgressReport, p: Principal,
                  key: str | None) -> None:
    uow.add(report, metadata(p, key))
    await uow.flush()


async def save_draft(rt: ServiceRuntime, p: Principal, county: str, due: date,
                     cmd: SaveProgressDraft, key: str | None) -> tuple[int, dict[str, Any]]:
    s = rt.settings.schema
    async with unit_of_work(rt, p, key, {"op": "progress_draft", "county": county,
                                         "due": due.isoformat(),
                                         **cmd.model_dump(mode="json")}) as uow:
        if uow.replayed:
            return uow.replayed
        report = await _load(uow, s, p, county, due, cmd.expected_version)
        report.save_draft(dict(cmd.sections), dict(cmd.figures), list(cmd.attachments))
        await _commit(uow, s, report, p, key)
        return uow.respond(200, {"report_id": str(report.report_id), "status": report.status,
                                 "version": report.version})


async def submit(rt: ServiceRuntime, p: Principal, county: str, due: date,
                 cmd: SubmitProgressReport, key: str | None) -> tuple[int, dict[str, Any]]:
    s = rt.settings.schema
    async with unit_of_work(rt, p, key, {"op": "progress_submit", "county": county,
                                         "due": due.isoformat(),
                                         **cmd.model_dump(mode="json")}) as uow:
        if uow.replayed:
            return uow.replayed
        report = await _load(uow, s, p, county, due, cmd.expected_version)
        if report.version == 0 or not report.sections.get("progress", "").strip():
            raise AppError(422, "progress_required", "请先保存草稿并填写“工作进展”（sections.progress）",
                           field="sections.progress")
        name = await division_name(uow.conn, s, county, "county_code")
        report.submit(title=f"{due.year}年改革工作推进情况（{due.month}月{due.day}日前报送）- {name}",
                      today=today_cst())
        await _commit(uow, s, report, p, key)
        late = today_cst() > due
        return uow.respond(200, {"report_id": str(report.report_id), "status": report.status,
                                 "revision": report.state.revision, "version": report.version,
                                 "late": late})
