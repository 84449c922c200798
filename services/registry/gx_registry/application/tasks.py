"""Task-list commands: push down, transfer out, return up, grids and assignment; and the
county reviewer's decision on an ambiguous match. One unit of work each."""
from __future__ import annotations

import uuid
from typing import Any

from gx_contracts.commands.registry import (
    AssignTasks,
    CreateGrid,
    PushDown,
    ResolveReview,
    ReturnUp,
    TransferOut,
)
from gx_contracts.divisions import Level, contains, is_valid_code, level_of
from gx_contracts.events import registry as ev
from gx_contracts.events.base import EventPayload, event_fields
from gx_contracts.ids import stream_id
from gx_kernel.errors import AppError, Conflict, NotFound
from gx_kernel.eventstore import NewEvent
from gx_kernel.identity import Principal
from gx_kernel.service import ServiceRuntime
from gx_kernel.uow import IdempotencyKey, UnitOfWork

from gx_registry.adapters import tasks_sql
from gx_registry.application.access import (
    REVIEWERS,
    jurisdiction,
    lock_inside,
    metadata,
    require_role,
)
from gx_registry.application.projections import projections
from gx_registry.domain import tasks as rules
from gx_registry.domain.classify import Classification
from gx_registry.domain.unit import Unit

MAINTAINERS = frozenset({"region_statistician", "county_statistician", "township_statistician"})


def _uow(rt: ServiceRuntime, p: Principal, key: str | None, payload: Any) -> UnitOfWork:
    return UnitOfWork(rt.store, projections=projections(rt.settings.schema),
                      idempotency=IdempotencyKey(p.user_id, key, payload))


def _new(payload: EventPayload) -> list[NewEvent]:
    return [NewEvent(**event_fields(payload))]


def _rule_error(exc: rules.TaskRuleError) -> AppError:
    return AppError(422, exc.code, str(exc))


async def push_down(rt: ServiceRuntime, p: Principal, cmd: PushDown, key: str | None
                    ) -> tuple[int, dict]:
    require_role(p, MAINTAINERS | {"city_statistician"}, "下划任务底册")
    try:
        rules.check_push_level(p.scope, cmd.to_level)
    except rules.TaskRuleError as exc:
        raise _rule_error(exc) from None
    s = rt.settings.schema
    async with _uow(rt, p, key, {"op": "push", **cmd.model_dump(mode="json")}) as uow:
        if uow.replayed:
            return uow.replayed
        n = await tasks_sql.count_pushable(uow.conn, s, p.scope, cmd.to_level.value,
                                           list(cmd.task_ids), cmd.kind)
        if n:
            uow.collect(f"tasklist-{p.scope}", None, _new(ev.TaskListPushedDown(
                scope_division=p.scope, to_level=cmd.to_level, task_ids=list(cmd.task_ids),
                kind=cmd.kind, count=n)), metadata(p, key))
        left = await uow.conn.fetchval(f"SELECT count(*) FROM {s}.tasks WHERE holder_code = $1",
                                       p.scope)
        await uow.flush()
        stayed = await uow.conn.fetchval(f"SELECT count(*) FROM {s}.tasks WHERE holder_code = $1",
                                         p.scope)
        return uow.respond(200, {"pushed": n, "stayed": stayed, "before": left,
                                 "to_level": cmd.to_level.value})


async def _task_for_move(uow: UnitOfWork, s: str, p: Principal, task_id: uuid.UUID):
    row = await uow.conn.fetchrow(f"SELECT * FROM {s}.tasks WHERE task_id = $1 FOR UPDATE",
                                  task_id)
    if row is None or not contains(jurisdiction(p), row["holder_code"]):
        raise NotFound("任务", str(task_id))
    if row["holder_code"] != p.scope:
        raise Conflict("该任务不在本级任务底册中（已下划或已迁出）", code="task_not_held")
    return row


async def transfer_out(rt: ServiceRuntime, p: Principal, task_id: uuid.UUID, cmd: TransferOut,
                       key: str | None) -> tuple[int, dict]:
    """迁出: the unit is really elsewhere; its task lands in that county's list."""
    require_role(p, {"county_statistician", "township_statistician", "region_statistician"},
                 "迁出任务单位")
    s = rt.settings.schema
    async with _uow(rt, p, key, {"op": "transfer", "task": str(task_id),
                                 **cmd.model_dump(mode="json")}) as uow:
        if uow.replayed:
            return uow.replayed
        row = await _task_for_move(uow, s, p, task_id)
        if contains(jurisdiction(p), cmd.to_division):
            raise AppError(422, "not_outside", "迁入区划在本辖区内：请下划，而不是迁出",
                           field="to_division")
        from gx_registry.domain.placement import _tree  # the division tree, loaded once

        if cmd.to_division not in _tree().divisions:
            raise AppError(422, "unknown_division", f"区划代码 {cmd.to_division} 不存在",
                           field="to_division")
        holder = rules.transfer_holder(cmd.to_division)
        unit = Unit.from_row(dict(await uow.conn.fetchrow(
            f"SELECT * FROM {s}.units WHERE unit_id = $1 FOR UPDATE", row["unit_id"])))
        unit.move(cmd.to_division, "transferred_out", cmd.reason,
                  ev.Source(kind="manual", note=cmd.reason))
        uow.add(unit, metadata(p, key))
        uow.collect(stream_id("regtask", task_id), row["version"], _new(ev.TaskTransferredOut(
            task_id=task_id, unit_id=row["unit_id"], from_division=row["holder_code"],
            to_division=holder, reason=cmd.reason)), metadata(p, key))
        await uow.flush()
        return uow.respond(200, {"task_id": str(task_id), "holder_code": holder,
                                 "unit_division": cmd.to_division})


async def return_up(rt: ServiceRuntime, p: Principal, task_id: uuid.UUID, cmd: ReturnUp,
                    key: str | None) -> tuple[int, dict]:
    require_role(p, REVIEWERS | {"village_coordinator"}, "返回上一级")
    s = rt.settings.schema
    async with _uow(rt, p, key, {"op": "return", "task": str(task_id),
                                 **cmd.model_dump(mode="json")}) as uow:
        if uow.replayed:
            return uow.replayed
        row = await _task_for_move(uow, s, p, task_id)
        try:
            up = rules.level_above(row["holder_code"])
        except rules.TaskRuleError as exc:
            raise _rule_error(exc) from None
        uow.collect(stream_id("regtask", task_id), row["version"], _new(ev.TaskReturnedUp(
            task_id=task_id, unit_id=row["unit_id"], from_division=row["holder_code"],
            to_division=up, reason=cmd.reason)), metadata(p, key))
        return uow.respond(200, {"task_id": str(task_id), "holder_code": up})


async def create_grid(rt: ServiceRuntime, p: Principal, cmd: CreateGrid, key: str | None
                      ) -> tuple[int, dict]:
    require_role(p, {"village_coordinator"}, "建立网格")
    if cmd.village_code != p.scope:
        raise AppError(403, "outside_jurisdiction", "只能在本村（社区）建立网格",
                       field="village_code")
    s = rt.settings.schema
    async with _uow(rt, p, key, {"op": "grid", **cmd.model_dump(mode="json")}) as uow:
        if uow.replayed:
            return uow.replayed
        await uow.conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))",
                               f"{s}.grid.{cmd.village_code}")
        n = await uow.conn.fetchval(f"SELECT count(*) FROM {s}.grids WHERE village_code = $1",
                                    cmd.village_code)
        if n >= 999:
            raise Conflict("本村网格已达999个上限", code="too_many_grids")
        grid_id, code = uuid.uuid4(), f"{cmd.village_code}{n + 1:03d}"
        uow.collect(stream_id("grid", grid_id), 0, _new(ev.GridCreated(
            grid_id=grid_id, village_code=cmd.village_code, grid_code=code, name=cmd.name,
            worker=cmd.worker)), metadata(p, key))
        return uow.respond(201, {"grid_id": str(grid_id), "grid_code": code, "name": cmd.name,
                                 "worker": cmd.worker})


async def assign(rt: ServiceRuntime, p: Principal, cmd: AssignTasks, key: str | None
                 ) -> tuple[int, dict]:
    require_role(p, {"village_coordinator"}, "分发任务到网格")
    s = rt.settings.schema
    async with _uow(rt, p, key, {"op": "assign", **cmd.model_dump(mode="json")}) as uow:
        if uow.replayed:
            return uow.replayed
        grid = await uow.conn.fetchrow(f"SELECT * FROM {s}.grids WHERE grid_id = $1", cmd.grid_id)
        if grid is None or grid["village_code"] != p.scope:
            raise NotFound("网格", str(cmd.grid_id))
        rows = await uow.conn.fetch(f"SELECT * FROM {s}.tasks WHERE task_id = ANY($1) FOR UPDATE",
                                    list(cmd.task_ids))
        held = {r["task_id"]: r for r in rows if r["holder_code"] == p.scope}
        missing = [str(t) for t in cmd.task_ids if t not in held]
        if missing:
            raise AppError(422, "task_not_held", f"{len(missing)} 个任务不在本村任务底册中",
                           field="task_ids", extra={"task_ids": missing[:20]})
        for t, r in held.items():
            uow.collect(stream_id("regtask", t), r["version"], _new(ev.TaskAssigned(
                task_id=t, unit_id=r["unit_id"], grid_id=cmd.grid_id,
                village_code=p.scope)), metadata(p, key))
        return uow.respond(200, {"grid_id": str(cmd.grid_id), "assigned": len(held)})


async def resolve_review(rt: ServiceRuntime, p: Principal, review_id: uuid.UUID,
                         cmd: ResolveReview, key: str | None) -> tuple[int, dict]:
    """The county reviewer decides: merge into a candidate (its fields updated) or a new unit."""
    require_role(p, {"county_statistician", "region_statistician", "city_statistician"},
                 "人工判定比对结果")
    s = rt.settings.schema
    async with _uow(rt, p, key, {"op": "review", "review": str(review_id),
                                 **cmd.model_dump(mode="json")}) as uow:
        if uow.replayed:
            return uow.replayed
        r = await lock_inside(uow.conn, s, p, "reviews", "review_id", review_id, "待判定记录")
        if r["status"] != "open":
            raise Conflict("该记录已判定", code="review_resolved")
        import json

        rec = json.loads(r["record"]) if isinstance(r["record"], str) else r["record"]
        src = ev.Source(kind="review", review_id=review_id, batch_id=r["batch_id"],
                        row_no=r["row_no"], note=cmd.reason or None)
        expl = {"outcome": cmd.decision, "rule": "review.manual",
                "text": f"县级人工判定：{'同一单位' if cmd.decision == 'same' else '新增单位'}"
                        f"{'（' + cmd.reason + '）' if cmd.reason else ''}"}
        if cmd.decision == "same":
            if cmd.unit_id is None or cmd.unit_id not in r["candidates"]:
                raise AppError(422, "not_a_candidate", "请从候选单位中选择要并入的单位",
                               field="unit_id")
            unit = Unit.from_row(dict(await uow.conn.fetchrow(
                f"SELECT * FROM {s}.units WHERE unit_id = $1 FOR UPDATE", cmd.unit_id)))
            unit.change({k: rec.get(k) for k in ("uscc", "name", "address", "legal_rep",
                                                  "status")}, src, expl)
            unit_id = cmd.unit_id
        else:
            unit_id = uuid.uuid5(review_id, "new")
            code = rec["placement"]["code"]
            unit = Unit.register(unit_id, rec, code, Classification(**rec["classification"]),
                                 src, placement=rec["placement"], explanation=expl)
        if unit.pending_events:
            uow.add(unit, metadata(p, key))
        uow.collect(stream_id("review", review_id), r["version"], _new(ev.ReviewResolved(
            review_id=review_id, decision=cmd.decision, unit_id=unit_id, reason=cmd.reason,
            decided_by=p.user_id)), metadata(p, key))
        return uow.respond(200, {"review_id": str(review_id), "decision": cmd.decision,
                                 "unit_id": str(unit_id)})


__all__ = ["push_down", "transfer_out", "return_up", "create_grid", "assign", "resolve_review",
           "Level", "is_valid_code", "level_of"]
