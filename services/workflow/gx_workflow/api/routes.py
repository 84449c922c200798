"""HTTP API /api/v1/workflow: queue, case, history, progress, and the reviewers' actions."""
from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Header, Path, Query
from fastapi.responses import StreamingResponse

from gx_contracts.commands.workflow import AcceptCase, ApproveCase, ReopenCase, ReturnCase
from gx_contracts.divisions import contains, is_valid_code
from gx_contracts.ids import case_id_for
from gx_contracts.roles import LEVEL_OF_ROLE, REVIEWER_ROLE_FOR_LEVEL, Role
from gx_kernel.errors import AppError, Forbidden, NotFound
from gx_kernel.http import principal, runtime
from gx_kernel.identity import Principal
from gx_kernel.service import ServiceRuntime

from gx_workflow.application import queries, stats
from gx_workflow.application.cases import act
from gx_workflow.application.live import ProgressFeed
from gx_workflow.application.paging import MAX_CURSOR_CHARS, decode_cursor
from gx_workflow.application.state import state
from gx_workflow.domain import commands as dc

router = APIRouter(prefix="/api/v1/workflow", tags=["workflow"])
Who = Annotated[Principal, Depends(principal)]
Rt = Annotated[ServiceRuntime, Depends(runtime)]
_REVIEWER_ROLES = frozenset(r.value for r in REVIEWER_ROLE_FOR_LEVEL.values())
IdemKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=200,
                                       description="幂等键（至多200字符）")]
# Query and path parameters: each bounded, so odd input is a 422 in Chinese, never a 500.
MAX_OFFSET = 100_000
Kind = Annotated[str | None, Query(max_length=64, pattern=r"^[a-z]+\.[a-z_]+$",
                                   description="审核对象类别，如 agri.report（至多64字符）")]
TaskId = Annotated[UUID | None, Query(description="任务ID（UUID）")]
# Checked by _division_in_scope (422 naming `division`, as before).
Division = Annotated[str | None, Query(description="统计用区划代码（12位数字）；默认本人管辖区划")]
SubjectKindPath = Annotated[str, Path(max_length=64, pattern=r"^[a-z]+\.[a-z_]+$",
                                      description="审核对象类别（至多64字符）")]
SubjectIdPath = Annotated[str, Path(min_length=1, max_length=128,
                                    description="审核对象ID（至多128字符）")]
# Review records name reviewers: people in the chain read them; roles without a level in
# the chain (ops, subscribers: absent from LEVEL_OF_ROLE by design) do not.
_NON_READERS = frozenset(r.value for r in Role if r not in LEVEL_OF_ROLE)


async def _reader(p: Who) -> Principal:
    if p.role in _NON_READERS:
        raise Forbidden("您的角色无权查看审核案卷", code="role_forbidden")
    return p


Reader = Annotated[Principal, Depends(_reader)]


def _visible(p: Principal, view: dict | None, ident: str) -> dict:
    if view is None or not contains(p.scope, view["division_code"]):
        raise NotFound("审核案卷", ident)  # outside jurisdiction looks like absence
    return view


@router.get("/queue")
async def my_queue(p: Who, rt: Rt, kind: Kind = None, task_id: TaskId = None,
                   status: Annotated[str | None, Query(
                       max_length=16, pattern="^(in_review|returned|accepted)$",
                       description="状态：in_review、returned 或 accepted")] = None,
                   limit: Annotated[int, Query(ge=1, le=500, description="每页条数（1至500）")] = 100,
                   offset: Annotated[int, Query(ge=0, le=MAX_OFFSET,
                                                description="跳过条数（0至100000）；长列表请用 cursor")] = 0,
                   cursor: Annotated[str | None, Query(
                       min_length=1, max_length=MAX_CURSOR_CHARS,
                       description="上一页返回的 next_cursor（不透明，至多200字符）")] = None,
                   watch: Annotated[bool, Query(
                       description="true = 本级同步监测、可退回的案卷（在其他层级审核中或已提前验收）")] = False,
                   ) -> dict:
    """我的待办：cases waiting at my level in my jurisdiction, oldest first; with `watch`, the
    cases my level watches (同步监测). Page with `cursor` (from `next_cursor`) or `offset`."""
    try:
        level = LEVEL_OF_ROLE[Role(p.role)]
    except (KeyError, ValueError):
        raise Forbidden("您的角色没有审核待办", code="role_has_no_queue") from None
    after = None
    if cursor is not None:
        if offset:
            raise AppError(422, "paging_conflict", "cursor 与 offset 不能同时使用", field="offset")
        try:
            after = decode_cursor(cursor)
        except ValueError:
            raise AppError(422, "invalid_cursor", "分页游标 cursor 无效，请使用上一页返回的 next_cursor",
                           field="cursor") from None
    async with rt.pool.acquire() as conn:
        items, next_cursor = await queries.queue(
            conn, rt.settings.schema, level, p.scope, kind=kind,
            task_id=str(task_id) if task_id else None, status=status, limit=limit,
            offset=offset, after=after, watch=watch)
    return {"level": level.value, "items": items, "count": len(items),
            "next_cursor": next_cursor}


@router.get("/cases/by-subject/{subject_kind}/{subject_id}")
async def case_by_subject(subject_kind: SubjectKindPath, subject_id: SubjectIdPath, p: Reader,
                          rt: Rt) -> dict:
    case_id = case_id_for(subject_kind, subject_id)
    async with rt.pool.acquire() as conn:
        view = await queries.case_by_id(conn, rt.settings.schema, case_id)
    return _visible(p, view, f"{subject_kind}/{subject_id}")


@router.get("/cases/{case_id}")
async def get_case(case_id: UUID, p: Reader, rt: Rt) -> dict:
    async with rt.pool.acquire() as conn:
        view = await queries.case_by_id(conn, rt.settings.schema, case_id)
    return _visible(p, view, str(case_id))


@router.get("/cases/{case_id}/history")
async def case_history(case_id: UUID, p: Reader, rt: Rt) -> dict:
    """审核记录：every step with who, role, division, device, when, action, why."""
    async with rt.pool.acquire() as conn:
        view = await queries.case_by_id(conn, rt.settings.schema, case_id)
        _visible(p, view, str(case_id))
        steps = await queries.history(conn, rt.settings.schema, case_id)
    return {"case_id": str(case_id), "steps": steps}


def _division_in_scope(p: Principal, division: str | None) -> str:
    """The division asked for (default: the caller's own), checked against the jurisdiction."""
    division = division or (p.scope if is_valid_code(p.scope) else p.scope.ljust(12, "0"))
    if not is_valid_code(division):
        raise AppError(422, "division_code", "统计用区划代码必须是12位数字", field="division")
    if not contains(p.scope, division):
        raise Forbidden("该区划不在您的管辖范围内", code="out_of_jurisdiction")
    return division


@router.get("/progress")
async def task_progress(task_id: Annotated[UUID, Query(description="任务ID（UUID）")], p: Reader,
                        rt: Rt, division: Division = None) -> dict:
    """进度：per child division — expected, not started, submitted, at each level, returned…"""
    division = _division_in_scope(p, division)
    async with rt.pool.acquire() as conn:
        result = await queries.progress(conn, rt.settings.schema, str(task_id), division)
    if not result:
        raise NotFound("区划", division)
    return result


@router.get("/progress/stream", response_class=StreamingResponse)
async def task_progress_stream(task_id: Annotated[UUID, Query(description="任务ID（UUID）")],
                               p: Reader, rt: Rt, division: Division = None):
    """进度实时推送 (server-sent events): `progress` snapshots (as GET /progress) and `case`
    events naming each changed case (id, status, level; no personal data)."""
    division = _division_in_scope(p, division)
    feed = ProgressFeed(rt.pool, rt.settings.schema, state(rt).progress_hub, str(task_id),
                        division)
    if await feed.start() is None:
        raise NotFound("区划", division)
    return StreamingResponse(feed.events(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


@router.get("/stats")
async def review_stats(p: Who, rt: Rt, task_id: TaskId = None, division: Division = None,
                       kind: Kind = None) -> dict:
    """审核统计：per level and per reviewer — approvals, returns, return rate, wait median/p90;
    the most frequent return reasons. For reviewers (statisticians) inside their jurisdiction."""
    if p.role not in _REVIEWER_ROLES:
        raise Forbidden("只有各级统计审核人员可以查看审核统计", code="role_forbidden")
    division = _division_in_scope(p, division)
    async with rt.pool.acquire() as conn:
        return await stats.review_stats(conn, rt.settings.schema, division,
                                        str(task_id) if task_id else None, kind)


@router.post("/cases/{case_id}/approve")
async def approve(case_id: UUID, body: ApproveCase, p: Who, rt: Rt, key: IdemKey = None) -> dict:
    return await act(rt.store, p, case_id, "approve", body, key, lambda c, a, now: dc.approve(
        c, a, body.expected_version, body.comment, now))


@router.post("/cases/{case_id}/return")
async def return_case(case_id: UUID, body: ReturnCase, p: Who, rt: Rt,
                      key: IdemKey = None) -> dict:
    return await act(rt.store, p, case_id, "return", body, key, lambda c, a, now: dc.return_case(
        c, a, body.expected_version, body.reason_code, body.reason, body.field_notes,
        body.to_level, now))


@router.post("/cases/{case_id}/accept")
async def accept(case_id: UUID, body: AcceptCase, p: Who, rt: Rt, key: IdemKey = None) -> dict:
    return await act(rt.store, p, case_id, "accept", body, key, lambda c, a, now: dc.accept(
        c, a, body.expected_version, body.comment, now))


@router.post("/cases/{case_id}/reopen")
async def reopen(case_id: UUID, body: ReopenCase, p: Who, rt: Rt, key: IdemKey = None) -> dict:
    return await act(rt.store, p, case_id, "reopen", body, key, lambda c, a, now: dc.reopen(
        c, a, body.expected_version, body.reason, now))
