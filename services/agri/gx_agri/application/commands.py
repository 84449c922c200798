"""Command handlers: publish a task, save a draft, submit a report.

Each runs in one unit of work (gx_kernel.uow): idempotency record, the events the report
aggregate raises, and the read models projected from them commit together; the unit of work
wakes the relay after the commit.
"""
from __future__ import annotations

import uuid
from typing import Any

from gx_contracts.commands.agri import PublishTask, SaveDraft, SubmitReport
from gx_contracts.divisions import prefix_of
from gx_contracts.events.agri import ReportSubmitted, TaskPublished
from gx_contracts.events.base import event_fields
from gx_contracts.ids import stream_id
from gx_contracts.lifecycle import NotEditable
from gx_kernel.errors import AppError, Conflict, NotFound
from gx_kernel.eventstore import ConcurrencyError, NewEvent
from gx_kernel.identity import Principal
from gx_kernel.service import ServiceRuntime
from gx_kernel.uow import IdempotencyKey, UnitOfWork

from gx_agri.adapters import repo
from gx_agri.application.access import jurisdiction, metadata, require_owner, require_role
from gx_agri.application.projections import projections
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


def unit_of_work(rt: ServiceRuntime, p: Principal, key: str | None, payload: Any) -> UnitOfWork:
    return UnitOfWork(rt.store, projections=projections(rt.settings.schema),
                      idempotency=IdempotencyKey(p.user_id, key, payload))


async def publish_task(rt: ServiceRuntime, p: Principal, cmd: PublishTask,
                       key: str | None) -> tuple[int, dict[str, Any]]:
    require_role(p, {"region_statistician"}, "发布报表任务")
    form = _form(cmd.form_code)
    if form.period_name(cmd.period) is None:
        allowed = "、".join(f"{x['name']}（{x['suffix'] or '仅年份'}）" for x in form.periods)
        raise AppError(422, "bad_period", f"报表 {form.code} 的报告期“{cmd.period}”无效，可选：{allowed}",
                       field="period")
    async with unit_of_work(rt, p, key, {"op": "publish", **cmd.model_dump(mode="json")}) as uow:
        if uow.replayed:
            return uow.replayed
        return uow.respond(*await _publish(uow, rt.settings.schema, p, cmd, form, key))


async def _publish(uow: UnitOfWork, s: str, p: Principal, cmd: PublishTask, form: Form,
                   key: str | None) -> tuple[int, dict]:
    if await repo.division(uow.conn, s, cmd.scope_division) is None:
        raise AppError(422, "unknown_division", f"区划代码 {cmd.scope_division} 不存在",
                       field="scope_division")
    if not prefix_of(cmd.scope_division).startswith(jurisdiction(p)):
        raise AppError(403, "outside_jurisdiction", "任务范围超出您的管辖范围", field="scope_division")
    task_id = uuid.uuid4()
    event = TaskPublished(task_id=task_id, form_code=form.code, form_version=form.version,
                          period=cmd.period, title=cmd.title, scope_division=cmd.scope_division,
                          deadline=cmd.deadline, published_by=p.user_id)
    uow.collect(stream_id("task", task_id), 0, [NewEvent(**event_fields(event))],
                metadata(p, key))
    await uow.flush()  # projects the task and its villages' reports
    task = await repo.task(uow.conn, s, task_id)
    return 201, {"task_id": str(task_id), "form_code": form.code, "form_version": form.version,
                 "period": cmd.period, "scope_division": cmd.scope_division,
                 "village_count": task["village_count"], "version": task["version"]}


async def _load_for_edit(uow: UnitOfWork, s: str, p: Principal, report_id: uuid.UUID,
                         expected_version: int) -> tuple[rep.Report, dict[str, Any]]:
    row = await repo.report(uow.conn, s, report_id, lock=True)
    if row is None:
        raise NotFound("报表", str(report_id))
    require_owner(p, row["village_code"], str(report_id))
    head = rep.Report.from_row(row).head()  # from its stream (typed, upcast), not the row
    report = rep.Report.load(head, await uow.store.read_stream(head.stream_id, conn=uow.conn))
    if not report.state.editable:
        raise _not_editable(NotEditable(report.state))
    if report.version != expected_version:
        raise ConcurrencyError(report.stream_id, expected_version, report.version)
    return report, row


def _not_editable(exc: NotEditable) -> Conflict:
    if exc.code == "report_read_only":
        return Conflict(f"报表{rep.STATUS_ZH[exc.state.status.value]}，只读，不能修改",
                        code="report_read_only")
    return Conflict("报表已提交，正在审核中，不能修改；如需修改请联系审核人员退回",
                    code="report_under_review")


async def _commit(uow: UnitOfWork, s: str, report: rep.Report, p: Principal,
                  key: str | None) -> None:
    """Append the report's events; the projection folds them into its row."""
    uow.add(report, metadata(p, key))
    await uow.flush()


async def save_draft(rt: ServiceRuntime, p: Principal, report_id: uuid.UUID, cmd: SaveDraft,
                     key: str | None) -> tuple[int, dict[str, Any]]:
    s = rt.settings.schema
    async with unit_of_work(rt, p, key, {"op": "draft", "report": str(report_id),
                                         **cmd.model_dump(mode="json")}) as uow:
        if uow.replayed:
            return uow.replayed
        report, row = await _load_for_edit(uow, s, p, report_id, cmd.expected_version)
        check_input(_form(row["form_code"], row["form_version"]), cmd.values, cmd.explanations)
        report.save_draft(dict(cmd.values), dict(cmd.explanations))
        await _commit(uow, s, report, p, key)
        return uow.respond(200, {"report_id": str(report_id), "status": report.status,
                                 "version": report.version})


async def submit_report(rt: ServiceRuntime, p: Principal, report_id: uuid.UUID,
                        cmd: SubmitReport, key: str | None) -> tuple[int, dict[str, Any]]:
    async with unit_of_work(rt, p, key, {"op": "submit", "report": str(report_id),
                                         **cmd.model_dump(mode="json")}) as uow:
        if uow.replayed:
            return uow.replayed
        return uow.respond(*await _submit(uow, rt, p, report_id, cmd, key))


async def _submit(uow: UnitOfWork, rt: ServiceRuntime, p: Principal, report_id: uuid.UUID,
                  cmd: SubmitReport, key: str | None) -> tuple[int, dict]:
    s = rt.settings.schema
    report, row = await _load_for_edit(uow, s, p, report_id, cmd.expected_version)
    form = _form(row["form_code"], row["form_version"])
    findings = await findings_for(uow.conn, s, form, row)
    stop = blocking(findings)
    if stop:
        raise AppError(422, "validation_blocked", _blocked_message(stop), errors=[
            {"field": f"values.{f.indicator}", "message": f.message, "severity": f.severity,
             "rule_id": f.rule_id} for f in stop])
    answers = await _answers(uow, rt, row, report)
    if answers.unanswered:
        raise _unanswered(form, row, answers.unanswered)
    title = f"{form.period_name(row['period'])}{form.name} - {row['village_name'] or row['village_code']}"
    report.submit(title=title, field_labels=form.labels(), note_answers=answers.answered,
                  changed=answers.changed)
    await _commit(uow, s, report, p, key)
    return 200, {"report_id": str(report_id), "status": report.status,
                 "revision": report.state.revision, "version": report.version,
                 "warnings": [f.as_dict() for f in findings if f.severity == "warning"]}


async def _answers(uow: UnitOfWork, rt: ServiceRuntime, row: dict[str, Any],
                   report: rep.Report) -> resubmit.Answers:
    """What changed since the returned submission, and how each of its field notes is answered."""
    if report.state.revision == 0:
        return resubmit.Answers([], {}, [])
    events = await rt.store.read_stream(report.stream_id, conn=uow.conn)
    last = next((e.data for e in reversed(events) if e.type == ReportSubmitted.EVENT_TYPE), None)
    if last is None:
        return resubmit.Answers([], {}, [])
    notes = row["field_notes"] if report.status == rep.RETURNED else {}
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
