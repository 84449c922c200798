"""Command handlers: publish a task, save a draft, submit a report.

Each runs in one transaction: idempotency record, event append and read-model rows commit
together; the relay is woken after the commit.
"""
from __future__ import annotations

import uuid
from typing import Any

from gx_contracts.commands.agri import PublishTask, SaveDraft, SubmitReport
from gx_contracts.divisions import Level, prefix_of
from gx_contracts.events.agri import SUBJECT_KIND, ReportDraftSaved, ReportSubmitted, TaskPublished
from gx_contracts.events.base import Submission, event_fields
from gx_contracts.ids import report_id_for
from gx_kernel.errors import AppError, Conflict, NotFound
from gx_kernel.eventstore import ConcurrencyError, NewEvent
from gx_kernel.idempotency import run_once
from gx_kernel.identity import Principal
from gx_kernel.service import ServiceRuntime

from gx_agri.adapters import repo
from gx_agri.application.access import jurisdiction, metadata, require_owner, require_role
from gx_agri.application.validation import check_input, findings_for
from gx_agri.domain import report as rep
from gx_agri.domain import resubmit
from gx_agri.domain.catalogue import Form, default_catalogue
from gx_agri.domain.rules import blocking


def _form(code: str, version: int | None = None) -> Form:
    cat = default_catalogue()
    form = cat.latest(code) if version is None else cat.get(code, version)
    if form is None:
        raise AppError(422, "unknown_form", f"报表目录中没有表号“{code}”", field="form_code")
    return form


async def publish_task(rt: ServiceRuntime, p: Principal, cmd: PublishTask,
                       key: str | None) -> tuple[int, dict[str, Any]]:
    require_role(p, {"region_statistician"}, "发布报表任务")
    form = _form(cmd.form_code)
    if form.period_name(cmd.period) is None:
        allowed = "、".join(f"{x['name']}（{x['suffix'] or '仅年份'}）" for x in form.periods)
        raise AppError(422, "bad_period", f"报表 {form.code} 的报告期“{cmd.period}”无效，可选：{allowed}",
                       field="period")
    s = rt.settings.schema
    async with rt.pool.acquire() as conn:
        async with conn.transaction():
            async def action():
                return await _publish(conn, s, rt, p, cmd, form, key)
            status, body = await run_once(conn, s, p.user_id, key,
                                          {"op": "publish", **cmd.model_dump(mode="json")}, action)
    rt.store.notify_committed()
    return status, body


async def _publish(conn, s, rt, p, cmd: PublishTask, form: Form, key) -> tuple[int, dict]:
    scope = await repo.division(conn, s, cmd.scope_division)
    if scope is None:
        raise AppError(422, "unknown_division", f"区划代码 {cmd.scope_division} 不存在",
                       field="scope_division")
    prefix = prefix_of(cmd.scope_division)
    if not prefix.startswith(jurisdiction(p)):
        raise AppError(403, "outside_jurisdiction", "任务范围超出您的管辖范围", field="scope_division")
    villages = await repo.villages_under(conn, s, prefix)
    task_id = uuid.uuid4()
    event = TaskPublished(task_id=task_id, form_code=form.code, form_version=form.version,
                          period=cmd.period, title=cmd.title, scope_division=cmd.scope_division,
                          deadline=cmd.deadline, published_by=p.user_id)
    await rt.store.append(f"task-{task_id}", 0, [NewEvent(**event_fields(event))],
                          metadata(p, key), conn=conn)
    await repo.insert_task(conn, s, {
        "task_id": task_id, "form_code": form.code, "form_version": form.version,
        "period": cmd.period, "title": cmd.title, "scope_division": cmd.scope_division,
        "scope_prefix": prefix, "deadline": cmd.deadline, "published_by": p.user_id,
        "village_count": len(villages), "version": 1})
    await repo.copy_reports(conn, s, [
        (report_id_for(task_id, v["code"]), task_id, v["code"], form.code, form.version, cmd.period)
        for v in villages])
    return 201, {"task_id": str(task_id), "form_code": form.code, "form_version": form.version,
                 "period": cmd.period, "scope_division": cmd.scope_division,
                 "village_count": len(villages), "version": 1}


async def _load_for_edit(conn, s: str, p: Principal, report_id: uuid.UUID,
                         expected_version: int) -> dict[str, Any]:
    row = await repo.report(conn, s, report_id, lock=True)
    if row is None:
        raise NotFound("报表", str(report_id))
    require_owner(p, row["village_code"], str(report_id))
    if row["status"] in rep.READ_ONLY:
        raise Conflict(f"报表{rep.STATUS_ZH[row['status']]}，只读，不能修改", code="report_read_only")
    if row["status"] == rep.SUBMITTED:
        raise Conflict("报表已提交，正在审核中，不能修改；如需修改请联系审核人员退回",
                       code="report_under_review")
    if row["version"] != expected_version:
        raise ConcurrencyError(f"report-{report_id}", expected_version, row["version"])
    return row


async def save_draft(rt: ServiceRuntime, p: Principal, report_id: uuid.UUID, cmd: SaveDraft,
                     key: str | None) -> tuple[int, dict[str, Any]]:
    s = rt.settings.schema
    async with rt.pool.acquire() as conn:
        async with conn.transaction():
            async def action():
                row = await _load_for_edit(conn, s, p, report_id, cmd.expected_version)
                form = _form(row["form_code"], row["form_version"])
                check_input(form, cmd.values, cmd.explanations)
                event = ReportDraftSaved(
                    report_id=report_id, task_id=row["task_id"], village_code=row["village_code"],
                    values=cmd.values, explanations=cmd.explanations,
                    revision=max(row["revision"], 1))
                stored = await rt.store.append(f"report-{report_id}", cmd.expected_version,
                                               [NewEvent(**event_fields(event))],
                                               metadata(p, key), conn=conn)
                status = rep.RETURNED if row["status"] == rep.RETURNED else rep.DRAFT
                await repo.update_report(conn, s, report_id, vals=dict(cmd.values),
                                         explanations=dict(cmd.explanations), status=status,
                                         version=stored[-1].version)
                return 200, {"report_id": str(report_id), "status": status,
                             "version": stored[-1].version}
            result = await run_once(conn, s, p.user_id, key,
                                    {"op": "draft", "report": str(report_id),
                                     **cmd.model_dump(mode="json")}, action)
    rt.store.notify_committed()
    return result


async def submit_report(rt: ServiceRuntime, p: Principal, report_id: uuid.UUID,
                        cmd: SubmitReport, key: str | None) -> tuple[int, dict[str, Any]]:
    s = rt.settings.schema
    async with rt.pool.acquire() as conn:
        async with conn.transaction():
            async def action():
                return await _submit(conn, s, rt, p, report_id, cmd, key)
            result = await run_once(conn, s, p.user_id, key,
                                    {"op": "submit", "report": str(report_id),
                                     **cmd.model_dump(mode="json")}, action)
    rt.store.notify_committed()
    return result


async def _submit(conn, s, rt, p, report_id, cmd: SubmitReport, key) -> tuple[int, dict]:
    row = await _load_for_edit(conn, s, p, report_id, cmd.expected_version)
    form = _form(row["form_code"], row["form_version"])
    findings = await findings_for(conn, s, form, row)
    stop = blocking(findings)
    if stop:
        raise AppError(422, "validation_blocked", _blocked_message(stop), errors=[
            {"field": f"values.{f.indicator}", "message": f.message, "severity": f.severity,
             "rule_id": f.rule_id} for f in stop])
    answers = await _answers(conn, rt, row, report_id)
    if answers.unanswered:
        raise _unanswered(form, row, answers.unanswered)
    revision = row["revision"] + 1
    title = f"{form.period_name(row['period'])}{form.name} - {row['village_name'] or row['village_code']}"
    event = ReportSubmitted(
        report_id=report_id, task_id=row["task_id"], form_code=form.code,
        form_version=form.version, period=row["period"], village_code=row["village_code"],
        values=row["vals"], explanations=row["explanations"], revision=revision,
        note_answers=answers.answered, changed=answers.changed,
        submission=Submission(subject_kind=SUBJECT_KIND, subject_id=str(report_id),
                              division_code=row["village_code"], task_id=row["task_id"],
                              revision=revision, title=title[:200], field_labels=form.labels()))
    stored = await rt.store.append(f"report-{report_id}", cmd.expected_version,
                                   [NewEvent(**event_fields(event))], metadata(p, key), conn=conn)
    await repo.update_report(conn, s, report_id, status=rep.SUBMITTED, revision=revision,
                             version=stored[-1].version, approved_rank=0,
                             review_level=Level.township.value, submitted_at=stored[-1].recorded_at)
    return 200, {"report_id": str(report_id), "status": rep.SUBMITTED, "revision": revision,
                 "version": stored[-1].version,
                 "warnings": [f.as_dict() for f in findings if f.severity == "warning"]}


async def _answers(conn, rt, row, report_id) -> resubmit.Answers:
    """What changed since the returned submission, and how each of its field notes is answered."""
    if row["revision"] == 0:
        return resubmit.Answers([], {}, [])
    events = await rt.store.read_stream(f"report-{report_id}", conn=conn)
    last = next((e.data for e in reversed(events) if e.type == ReportSubmitted.EVENT_TYPE), None)
    if last is None:
        return resubmit.Answers([], {}, [])
    notes = row["field_notes"] if row["status"] == rep.RETURNED else {}
    return resubmit.answer_notes(notes, last.get("values") or {}, last.get("explanations") or {},
                                 row["vals"], row["explanations"])


def _unanswered(form: Form, row, codes: list[str]) -> AppError:
    names = "、".join(form.indicator(c).name if form.indicator(c) else c for c in codes)
    return AppError(
        422, "return_notes_unanswered",
        f"退回批注的指标既未修改也未说明，不能重新报送：{names}。请修改数值，"
        f"或在说明（explanations）中填写核实无误的说明", errors=[
            {"field": f"explanations.{c}",
             "message": f"{form.indicator(c).label if form.indicator(c) else c}：审核批注"
                        f"“{str(row['field_notes'].get(c, ''))[:200]}”尚未答复，请修改数值或说明核实情况"}
            for c in codes])


def _blocked_message(stop) -> str:
    first = stop[0]
    if first.severity == "error":
        return f"审核未通过，不能提交：{first.message}（共 {len(stop)} 项）"
    return f"有审核警告未说明，不能提交：{first.message}；请修改或在 explanations.{first.indicator} 中说明"
