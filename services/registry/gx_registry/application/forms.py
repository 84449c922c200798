"""The field survey (基本单位情况表) commands: open, save, submit; each one unit of work.

The form is an event-sourced aggregate (`domain.form_aggregate.UnitForm`, loaded from its
stream); its row is projected from its events alone (`form_projections.py`). It climbs the
chain `registry.unit_form` through the workflow service (its submitted event carries the
`Submission`); `consumer.py` follows the review events back.
"""
from __future__ import annotations

import json
import uuid
from typing import Any

from gx_contracts.commands.registry import OpenUnitForm, SaveUnitForm, SubmitUnitForm
from gx_contracts.events.registry import Location
from gx_contracts.ids import stream_id
from gx_contracts.lifecycle import NotEditable
from gx_kernel.errors import AppError, Conflict, NotFound
from gx_kernel.eventstore import ConcurrencyError
from gx_kernel.identity import Principal
from gx_kernel.service import ServiceRuntime
from gx_kernel.uow import IdempotencyKey, UnitOfWork

from gx_registry.application.access import COLLECTORS, metadata, require_inside, require_role
from gx_registry.application.projections import projections
from gx_registry.domain import unit_form as uf
from gx_registry.domain.form_aggregate import UnitForm

PREFILL = ("uscc", "name", "legal_rep", "phone", "address", "status", "industry_code")


def _uow(rt: ServiceRuntime, p: Principal, key: str | None, payload: Any) -> UnitOfWork:
    return UnitOfWork(rt.store, projections=projections(rt.settings.schema),
                      idempotency=IdempotencyKey(p.user_id, key, payload))


def _owner(p: Principal, village_code: str, form_id: str) -> None:
    require_inside(p, village_code, "基本单位情况表", form_id)
    if p.role not in COLLECTORS or p.scope != village_code:
        raise AppError(403, "not_form_owner", "只有本村的统计协管员或网格员可以填报和上报此表")


def form_json(row: Any) -> dict[str, Any]:
    def j(v: Any) -> Any:
        return json.loads(v) if isinstance(v, str) else v
    return {"form_id": str(row["form_id"]), "unit_id": str(row["unit_id"]) if row["unit_id"] else None,
            "task_id": str(row["task_id"]) if row["task_id"] else None,
            "village_code": row["village_code"], "form_version": row["form_version"],
            "values": j(row["vals"]), "explanations": j(row["explanations"]),
            "location": j(row["location"]), "status": row["status"],
            "status_zh": uf.STATUS_ZH[row["status"]], "revision": row["revision"],
            "review_level": row["review_level"], "return_reason": row["return_reason"],
            "round_id": str(row["round_id"]) if row.get("round_id") else None,
            "version": row["version"], "read_only": row["status"] in ("accepted", "confirmed")}


async def open_form(rt: ServiceRuntime, p: Principal, cmd: OpenUnitForm, key: str | None
                    ) -> tuple[int, dict]:
    """A form for a task unit (prefilled from the register), or for a unit found on the
    ground (新发现的单位: only the village). Opening a task's form again returns the same form."""
    require_role(p, COLLECTORS, "填报基本单位情况表")
    if cmd.village_code != p.scope:
        raise AppError(403, "outside_jurisdiction", "只能为本村（社区）的单位填表", field="village_code")
    s = rt.settings.schema
    async with _uow(rt, p, key, {"op": "open", **cmd.model_dump(mode="json")}) as uow:
        if uow.replayed:
            return uow.replayed
        values: dict[str, Any] = {}
        unit_id = None
        if cmd.task_id is not None:
            task = await uow.conn.fetchrow(
                f"SELECT t.*, u.* FROM {s}.tasks t JOIN {s}.units u USING (unit_id) "
                f"WHERE t.task_id = $1", cmd.task_id)
            if task is None or task["holder_code"] != p.scope:
                raise NotFound("任务", str(cmd.task_id))
            unit_id = task["unit_id"]
            values = {k: task[k] for k in PREFILL if task[k]}
            form_id = uuid.uuid5(cmd.task_id, "unit_form")
        else:
            form_id = uuid.uuid4()
        await open_in(uow, s, p, key, form_id, cmd.village_code, unit_id=unit_id,
                      task_id=cmd.task_id, values=values)
        row = await uow.conn.fetchrow(f"SELECT * FROM {s}.unit_forms WHERE form_id = $1", form_id)
        return uow.respond(201, form_json(row))


async def open_in(uow: UnitOfWork, s: str, p: Principal, key: str | None, form_id: uuid.UUID,
                  village_code: str, *, unit_id: uuid.UUID | None = None,
                  task_id: uuid.UUID | None = None, round_id: uuid.UUID | None = None,
                  values: dict[str, Any] | None = None) -> bool:
    """Open the form inside the caller's unit of work (False: it was open already)."""
    exists = await uow.conn.fetchval(f"SELECT 1 FROM {s}.unit_forms WHERE form_id = $1", form_id)
    if exists:
        return False
    definition = uf.form_def()
    assert definition is not None
    form = UnitForm.open(form_id, village_code, definition.version, unit_id=unit_id,
                         task_id=task_id, round_id=round_id,
                         values={**(values or {}), "division_code": village_code})
    uow.add(form, metadata(p, key))
    await uow.flush()
    return True


async def _load(uow: UnitOfWork, s: str, p: Principal, form_id: uuid.UUID,
                expected: int) -> UnitForm:
    """The form from its own stream (its row locked: one command at a time)."""
    row = await uow.conn.fetchrow(f"SELECT village_code FROM {s}.unit_forms WHERE form_id = $1 "
                                  f"FOR UPDATE", form_id)
    if row is None:
        raise NotFound("基本单位情况表", str(form_id))
    _owner(p, row["village_code"], str(form_id))
    form = UnitForm.load(form_id, await uow.store.read_stream(
        stream_id("unitform", form_id), conn=uow.conn))
    if not form.state.editable:
        raise _not_editable(NotEditable(form.state))
    if form.version != expected:
        raise ConcurrencyError(form.stream_id, expected, form.version)
    return form


def _not_editable(exc: NotEditable) -> Conflict:
    if exc.code == "report_read_only":
        return Conflict("该表已验收，只读", code="form_read_only")
    return Conflict("该表已上报，正在审核中，不能修改", code="form_under_review")


def _findings_error(stop: list[uf.Finding]) -> AppError:
    first = stop[0]
    what = "审核未通过" if first.severity == "error" else "有审核警告未说明"
    return AppError(422, "validation_blocked", f"{what}，不能上报：{first.message}（共 {len(stop)} 项）",
                    errors=[{"field": f"values.{f.field}" if f.field != "location" else "location",
                             "message": f.message, "severity": f.severity, "rule_id": f.rule}
                            for f in stop])


async def save_draft(rt: ServiceRuntime, p: Principal, form_id: uuid.UUID, cmd: SaveUnitForm,
                     key: str | None) -> tuple[int, dict]:
    s, definition = rt.settings.schema, uf.form_def()
    assert definition is not None
    async with _uow(rt, p, key, {"op": "draft", "form": str(form_id),
                                 **cmd.model_dump(mode="json")}) as uow:
        if uow.replayed:
            return uow.replayed
        form = await _load(uow, s, p, form_id, cmd.expected_version)
        loc = Location(**cmd.location.model_dump()) if cmd.location else None
        errors = [f for f in uf.check(definition, cmd.values, cmd.explanations, loc,
                                      form.village_code, rt.settings.max_location_accuracy_m,
                                      submitting=False) if f.severity == "error"]
        if errors:
            raise _findings_error(errors)
        form.save_draft(cmd.values, cmd.explanations, loc)
        uow.add(form, metadata(p, key))
        await uow.flush()
        return uow.respond(200, {"form_id": str(form_id), "status": form.state.status.value,
                                 "version": form.version})


async def submit(rt: ServiceRuntime, p: Principal, form_id: uuid.UUID, cmd: SubmitUnitForm,
                 key: str | None) -> tuple[int, dict]:
    s, definition = rt.settings.schema, uf.form_def()
    assert definition is not None
    async with _uow(rt, p, key, {"op": "submit", "form": str(form_id),
                                 **cmd.model_dump(mode="json")}) as uow:
        if uow.replayed:
            return uow.replayed
        form = await _load(uow, s, p, form_id, cmd.expected_version)
        findings = uf.check(definition, form.values, form.explanations, form.location,
                            form.village_code, rt.settings.max_location_accuracy_m,
                            submitting=True)
        if findings:
            raise _findings_error(findings)
        explained = [f.as_dict() for f in uf.check(definition, form.values, {}, form.location,
                                                   form.village_code,
                                                   rt.settings.max_location_accuracy_m,
                                                   submitting=True)]
        name = str(form.values.get("name") or "新单位")
        form.submit(f"{definition.title} - {name}", definition.labels(), explained)
        uow.add(form, metadata(p, key))
        await uow.flush()
        return uow.respond(200, {"form_id": str(form_id), "status": form.state.status.value,
                                 "revision": form.state.revision, "version": form.version,
                                 "warnings": explained})


async def get_form(rt: ServiceRuntime, p: Principal, form_id: uuid.UUID) -> dict:
    async with rt.pool.acquire() as conn:
        row = await conn.fetchrow(f"SELECT * FROM {rt.settings.schema}.unit_forms "
                                  f"WHERE form_id = $1", form_id)
    if row is None:
        raise NotFound("基本单位情况表", str(form_id))
    require_inside(p, row["village_code"], "基本单位情况表", str(form_id))
    return form_json(row)


async def list_forms(rt: ServiceRuntime, p: Principal, limit: int, offset: int) -> dict:
    from gx_registry.application.access import jurisdiction

    async with rt.pool.acquire() as conn:
        rows = await conn.fetch(f"SELECT * FROM {rt.settings.schema}.unit_forms WHERE "
                                f"village_code LIKE $1 ORDER BY updated_at DESC LIMIT $2 OFFSET $3",
                                jurisdiction(p) + "%", limit, offset)
    return {"items": [form_json(r) for r in rows]}
