"""Read side: tasks, reports, history, on-demand validation."""
from __future__ import annotations

import json
import uuid
from typing import Any

from gx_contracts.commands.agri import SaveDraft
from gx_contracts.divisions import Level
from gx_contracts.ids import stream_id
from gx_kernel.errors import NotFound
from gx_kernel.identity import Principal
from gx_kernel.service import ServiceRuntime

from gx_agri.adapters import repo
from gx_agri.application.access import jurisdiction, require_reader, require_role
from gx_agri.application.validation import check_input, findings_for
from gx_agri.domain import report as rep
from gx_agri.domain.catalogue import default_catalogue
from gx_agri.domain.rules import blocking


def _task_view(t) -> dict[str, Any]:
    return {"task_id": str(t["task_id"]), "form_code": t["form_code"],
            "form_version": t["form_version"], "period": t["period"], "title": t["title"],
            "scope_division": t["scope_division"], "deadline": t["deadline"].isoformat(),
            "published_by": t["published_by"], "published_at": t["published_at"].isoformat(),
            "village_count": t["village_count"], "version": t["version"]}


async def list_tasks(rt: ServiceRuntime, p: Principal) -> dict[str, Any]:
    require_role(p, rep.READER_ROLES, "查看报表任务")
    s, scope = rt.settings.schema, jurisdiction(p)
    async with rt.pool.acquire() as conn:
        if len(scope) == 12:  # a village: its own report of each task
            rows = await repo.tasks_of_village(conn, s, scope)
            items = [{**_task_view(r), "report_id": str(r["report_id"]), "status": r["status"],
                      "report_version": r["report_version"], "revision": r["revision"]}
                     for r in rows]
        else:
            items = [_task_view(r) for r in await repo.tasks_overlapping(conn, s, scope)]
    return {"items": items, "count": len(items)}


async def get_task(rt: ServiceRuntime, p: Principal, task_id: uuid.UUID) -> dict[str, Any]:
    require_role(p, rep.READER_ROLES, "查看报表任务")
    s, scope = rt.settings.schema, jurisdiction(p)
    async with rt.pool.acquire() as conn:
        t = await repo.task(conn, s, task_id)
        if t is None or not (scope.startswith(t["scope_prefix"])
                             or t["scope_prefix"].startswith(scope)):
            raise NotFound("报表任务", str(task_id))
        # progress inside the caller's view: the smaller of task scope and jurisdiction
        view = scope if len(scope) > len(t["scope_prefix"]) else t["scope_prefix"]
        progress = await repo.progress(conn, s, task_id, view)
    form = default_catalogue().get(t["form_code"], t["form_version"])
    return {**_task_view(t), "progress": progress, "progress_division": view,
            "form": form.as_dict() if form else None}


async def readable_report(conn, s, p: Principal, report_id: uuid.UUID) -> dict[str, Any]:
    row = await repo.report(conn, s, report_id)
    if row is None:
        raise NotFound("报表", str(report_id))
    require_reader(p, row["village_code"], str(report_id))
    return row


async def get_report(rt: ServiceRuntime, p: Principal, report_id: uuid.UUID) -> dict[str, Any]:
    s = rt.settings.schema
    async with rt.pool.acquire() as conn:
        row = await readable_report(conn, s, p, report_id)
        form = default_catalogue().get(row["form_code"], row["form_version"])
        findings = await findings_for(conn, s, form, row)
    owner = p.role == rep.COORDINATOR and jurisdiction(p) == row["village_code"]
    rank = row["approved_rank"]
    return {
        "report_id": str(report_id), "task_id": str(row["task_id"]),
        "village_code": row["village_code"], "village_name": row["village_name"],
        "form_code": row["form_code"], "form_version": row["form_version"],
        "period": row["period"], "period_name": form.period_name(row["period"]),
        "status": row["status"], "status_zh": rep.status_zh(row),
        "version": row["version"], "revision": row["revision"],
        "values": row["vals"], "explanations": row["explanations"],
        "read_only": not (owner and row["status"] in rep.EDITABLE),
        "approved_level": list(Level)[rank].value if rank > 0 else None,
        "accepted_level": row["accepted_level"], "confirmed_level": row["confirmed_level"],
        "review_level": row["review_level"], "case_id": str(row["case_id"]) if row["case_id"] else None,
        "last_return": None if not row["return_reason"] else {
            "reason_code": row["return_reason_code"], "reason": row["return_reason"],
            "from_level": row["return_from_level"], "field_notes": row["field_notes"]},
        "validation": [f.as_dict() for f in findings],
        "can_submit": not blocking(findings),
        "form": form.as_dict(),
    }


async def validate_values(rt: ServiceRuntime, p: Principal, report_id: uuid.UUID,
                          body: SaveDraft | None) -> dict[str, Any]:
    """机内审核 on demand: of the given values, or of the saved draft when no body is sent."""
    s = rt.settings.schema
    async with rt.pool.acquire() as conn:
        row = await readable_report(conn, s, p, report_id)
        form = default_catalogue().get(row["form_code"], row["form_version"])
        values = body.values if body else None
        explanations = body.explanations if body else None
        if body:
            check_input(form, body.values, body.explanations)
        findings = await findings_for(conn, s, form, row, values, explanations)
    stop = blocking(findings)
    return {"report_id": str(report_id), "ok": not stop,
            "errors": [f.as_dict() for f in findings if f.severity == "error"],
            "warnings": [f.as_dict() for f in findings if f.severity == "warning"],
            "blocking": [f.as_dict() for f in stop]}


_WHAT = {"agri.report.draft_saved": "保存草稿", "agri.report.submitted": "提交",
         "agri.report.returned": "退回修改", "agri.report.accepted": "验收",
         "workflow.case.opened": "进入审核", "workflow.case.approved": "审核通过",
         "workflow.case.returned": "审核退回", "workflow.case.resubmitted": "重新报送",
         "workflow.case.accepted": "验收", "workflow.case.reopened": "重新打开",
         "workflow.case.overdue": "审核超期"}


def _what_zh(type_: str, data: dict) -> str:
    """An acceptance says which: early (数据验收 → 已验收) or final (最终确认 → 已确认)."""
    final = data.get("final", True)
    if type_ == "workflow.case.accepted":
        return "最终确认" if final else "数据验收"
    if type_ == "agri.report.accepted":
        return "报表已确认" if final else "报表已验收"
    return _WHAT.get(type_, type_)


def _step(type_, data, meta, at, source) -> dict[str, Any]:
    return {"what": type_, "what_zh": _what_zh(type_, data), "source": source,
            "who": meta.get("actor"), "who_name": meta.get("actor_name") or meta.get("actor"),
            "role": meta.get("role"), "division": meta.get("division"),
            "device": meta.get("device"), "when": at.isoformat(),
            "reason": data.get("reason") or data.get("comment") or None,
            "reason_code": data.get("reason_code"), "field_notes": data.get("field_notes") or None,
            "revision": data.get("revision"),
            "level": data.get("level") or data.get("from_level"),
            "final": data.get("final", True) if type_.endswith(".accepted") else None,
            "note_answers": data.get("note_answers") or None,
            "changed": data.get("changed") or None}


async def history(rt: ServiceRuntime, p: Principal, report_id: uuid.UUID) -> dict[str, Any]:
    """Every step: this service's events on the report, and the review chain's as received."""
    s = rt.settings.schema
    async with rt.pool.acquire() as conn:
        await readable_report(conn, s, p, report_id)
        own = await rt.store.read_stream(stream_id("report", report_id), conn=conn)
        review = await repo.review_log(conn, s, report_id)
    # a reaction to a review event (退回修改 after 审核退回, 报表已验收 after 数据验收) is the same
    # step seen twice: the review event, with its reason and notes, stands for both
    shown = {str(r["event_id"]) for r in review}
    steps = [_step(e.type, e.data, e.metadata, e.recorded_at, "agri") for e in own
             if (e.metadata or {}).get("causation_id") not in shown
             and e.type != "agri.report.history_adopted"]  # migration 0002's: review_log rows
    steps += [_step(r["type"], _json(r["data"]),
                    _json(r["metadata"]), r["at"], "workflow") for r in review]
    steps.sort(key=lambda x: x["when"])
    return {"report_id": str(report_id), "steps": steps}


def _json(v):
    return json.loads(v) if isinstance(v, str) else v
