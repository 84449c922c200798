"""关闭单位: the county (or the region) closes a unit in its jurisdiction, with a reason from
the data (注销, 吊销, 撤销, 歇业 …; `domain/closing.py`). The unit's stream gets
`registry.unit.closed` (source: manual, with the note); the projection takes the unit off the
task lists and out of confirmation rounds. Closing a closed unit again changes nothing."""
from __future__ import annotations

import uuid

from gx_contracts.commands.registry import CloseUnit
from gx_contracts.events.registry import Source
from gx_kernel.errors import AppError, Conflict
from gx_kernel.identity import Principal
from gx_kernel.service import ServiceRuntime
from gx_kernel.uow import IdempotencyKey, UnitOfWork

from gx_registry.application.access import lock_inside, metadata, require_role
from gx_registry.application.projections import projections
from gx_registry.domain.closing import close_reasons
from gx_registry.domain.unit import STATUS_ZH, Unit

CLOSERS = frozenset({"county_statistician", "region_statistician"})


def reasons_list() -> dict:
    r = close_reasons()
    return {"version": r.version, "items": [
        {**x.as_dict(), "status_zh": STATUS_ZH.get(x.status, x.status)} for x in r.reasons]}


async def close_unit(rt: ServiceRuntime, p: Principal, unit_id: uuid.UUID, cmd: CloseUnit,
                     key: str | None) -> tuple[int, dict]:
    require_role(p, CLOSERS, "关闭单位（由县级或自治区统计局关闭）")
    reasons = close_reasons()
    reason = reasons.get(cmd.reason)
    if reason is None:
        raise AppError(422, "close_reason_unknown",
                       f"关闭原因“{cmd.reason[:32]}”无效，应为：{reasons.labels()}", field="reason")
    note = cmd.note.strip()
    if reason.note_required and not note:
        raise AppError(422, "note_required", f"关闭原因为“{reason.label}”时须填写说明",
                       field="note")
    s = rt.settings.schema
    payload = {"op": "close", "unit": str(unit_id), **cmd.model_dump(mode="json")}
    async with UnitOfWork(rt.store, projections=projections(s),
                          idempotency=IdempotencyKey(p.user_id, key, payload)) as uow:
        if uow.replayed:
            return uow.replayed
        unit = Unit.from_row(dict(await lock_inside(uow.conn, s, p, "units", "unit_id",
                                                    unit_id, "单位")))
        answer = {"unit_id": str(unit_id), "closed": True, "reason": reason.code,
                  "reason_zh": reason.label}
        if unit.closed:  # the same closing again: nothing new; another one: refused
            if unit.status != reason.status:
                raise Conflict(f"单位已关闭（{STATUS_ZH.get(unit.status or '', unit.status)}），"
                               f"不能再以“{reason.label}”关闭", code="already_closed")
            return uow.respond(200, {**answer, "status": unit.status,
                                     "status_zh": STATUS_ZH.get(reason.status, ""),
                                     "already_closed": True, "tasks_closed": 0})
        unit.close(reason.status, reason.label, Source(kind="manual", scope_division=p.scope,
                                                        note=note or None))
        uow.add(unit, metadata(p, key))
        await uow.flush()
        closed = await uow.conn.fetchval(
            f"SELECT count(*) FROM {s}.tasks WHERE unit_id = $1 AND status = 'closed'", unit_id)
        return uow.respond(200, {**answer, "status": reason.status,
                                 "status_zh": STATUS_ZH.get(reason.status, ""),
                                 "already_closed": False, "tasks_closed": closed})
