"""HTTP routes of the registry (/api/v1/registry/...): parse, principal, delegate."""
from __future__ import annotations

import asyncio
import json
import uuid
from typing import Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, Header, Path, Query, Request
from fastapi.responses import Response, StreamingResponse

from gx_contracts.commands.registry import (
    AssignTasks,
    ConfirmUnit,
    CreateGrid,
    OpenRound,
    OpenUnitForm,
    PushDown,
    ResolveReview,
    ReturnUp,
    RunAudit,
    SaveUnitForm,
    StartImport,
    SubmitUnitForm,
    TransferOut,
)
from gx_kernel.http import principal, runtime
from gx_kernel.http import reply as _reply
from gx_kernel.identity import Principal

from gx_registry.application import closing, forms, queries, rounds, tasks, uploads
from gx_registry.domain import records
from gx_registry.domain.unit_form import form_def

router = APIRouter(prefix="/api/v1/registry", tags=["registry"])
IdemKey = Header(None, alias="Idempotency-Key", max_length=200)
# Fresh Query objects per parameter: FastAPI binds a shared one to the first name it serves.


def Limit():  # noqa: N802 - reads as the parameter's type
    return Query(100, ge=1, le=1000)


def Offset():  # noqa: N802
    return Query(0, ge=0, le=10_000_000)


def Code():  # noqa: N802
    return Query(None, pattern=r"^[0-9]{12}$", description="12位区划代码")




def _download(data: bytes, name: str, fmt: str) -> Response:
    media = ("text/csv; charset=utf-8" if fmt == "csv" else
             "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    return Response(data, media_type=media, headers={
        "Cache-Control": "no-store",  # exports of units and tasks: as the lists themselves
        "Content-Disposition": f"attachment; filename=\"export.{fmt}\"; "
                               f"filename*=UTF-8''{quote(name + '.' + fmt)}"})


@router.get("/departments")
async def departments(p: Principal = Depends(principal)) -> dict:
    """部门及其列对照（各版本）."""
    return {"items": [{"department": m.department, "version": m.version,
                       "columns": {k: list(v) for k, v in m.columns.items()},
                       "required": list(m.required)} for m in records.all_mappings()]}


@router.post("/imports", status_code=201)
async def start_import(cmd: StartImport, p: Principal = Depends(principal), rt=Depends(runtime),
                       key: str | None = IdemKey):
    return _reply(await uploads.create(rt, p, cmd, key))


@router.put("/imports/{batch_id}/parts/{part_no}")
async def put_part(request: Request, batch_id: uuid.UUID,
                   part_no: int = Path(ge=0, le=100_000), p: Principal = Depends(principal),
                   rt=Depends(runtime)) -> dict:
    return await uploads.put_part(rt, p, batch_id, part_no, await request.body())


@router.post("/imports/{batch_id}/finish")
async def finish_import(batch_id: uuid.UUID, p: Principal = Depends(principal),
                        rt=Depends(runtime)):
    return _reply(await uploads.finish(rt, p, batch_id))


@router.get("/imports")
async def list_imports(p: Principal = Depends(principal), rt=Depends(runtime),
                       limit: int = Limit(), offset: int = Offset()) -> dict:
    return await queries.list_imports(rt, p, limit, offset)


@router.get("/imports/{batch_id}")
async def get_import(batch_id: uuid.UUID, p: Principal = Depends(principal),
                     rt=Depends(runtime)) -> dict:
    return await queries.get_import(rt, p, batch_id)


@router.get("/imports/{batch_id}/errors")
async def import_errors(batch_id: uuid.UUID, format: Literal["json", "csv", "xlsx"] = "json",
                        p: Principal = Depends(principal), rt=Depends(runtime)):
    """错误清单（行号、字段、原因），可下载 CSV / XLSX."""
    rows = await queries.import_errors(rt, p, batch_id)
    if format == "json":
        return {"items": [dict(zip(("row_no", "field", "code", "reason", "value"), r))
                          for r in rows[:1000]], "total": len(rows)}
    data = (queries.errors_csv(rows) if format == "csv"
            else queries.table_xlsx("错误清单", queries.ERROR_HEADER, rows))
    return _download(data, f"导入错误清单-{batch_id}", format)


@router.get("/units")
async def list_units(response: Response, p: Principal = Depends(principal), rt=Depends(runtime),
                     division: str | None = Code(), q: str | None = Query(None, max_length=100),
                     limit: int = Limit(), offset: int = Offset()) -> dict:
    response.headers["Cache-Control"] = "no-store"  # unit names can name a person (个体户)
    return await queries.list_units(rt, p, division, q, limit, offset)


@router.get("/units/export")
async def export_units(p: Principal = Depends(principal), rt=Depends(runtime),
                       division: str | None = Code(), format: Literal["csv", "xlsx"] = "csv"):
    """名录库（按区划）导出 CSV / XLSX."""
    rows = await queries.export_units(rt, p, division)
    name = f"基本单位名录-{division or p.scope}"
    data = (queries.csv_bytes(queries.UNIT_HEADER, rows) if format == "csv"
            else queries.table_xlsx("基本单位名录", queries.UNIT_HEADER, rows))
    return _download(data, name, format)


@router.get("/units/{unit_id}")
async def get_unit(unit_id: uuid.UUID, response: Response, p: Principal = Depends(principal),
                   rt=Depends(runtime)) -> dict:
    response.headers["Cache-Control"] = "no-store"
    return await queries.get_unit(rt, p, unit_id)


@router.get("/close-reasons")
async def close_reasons(p: Principal = Depends(principal)) -> dict:
    """关闭单位的原因（数据：代码、名称、关闭后的运营状态）."""
    return closing.reasons_list()


@router.post("/units/{unit_id}/close")
async def close_unit(unit_id: uuid.UUID, cmd: closing.CloseUnit,
                     p: Principal = Depends(principal), rt=Depends(runtime),
                     key: str | None = IdemKey):
    """关闭单位（县级、自治区统计局；管辖范围内）：单位退出任务底册和定期确认."""
    return _reply(await closing.close_unit(rt, p, unit_id, cmd, key))


@router.get("/reviews")
async def list_reviews(p: Principal = Depends(principal), rt=Depends(runtime),
                       status: Literal["open", "resolved"] = "open", limit: int = Limit(),
                       offset: int = Offset()) -> dict:
    return await queries.list_reviews(rt, p, status, limit, offset)


@router.post("/reviews/{review_id}/resolve")
async def resolve(review_id: uuid.UUID, cmd: ResolveReview, p: Principal = Depends(principal),
                  rt=Depends(runtime), key: str | None = IdemKey):
    return _reply(await tasks.resolve_review(rt, p, review_id, cmd, key))


@router.get("/tasks")
async def list_tasks(response: Response, p: Principal = Depends(principal), rt=Depends(runtime),
                     kind: Literal["new_unit_search", "field_verification"] | None = None,
                     holder: str | None = Code(), grid: uuid.UUID | None = None,
                     limit: int = Limit(), offset: int = Offset()) -> dict:
    # unit names and addresses (a 个体户's name names a person): no HTTP cache copy on the phone;
    # the console's service worker keeps its own, sealed (console/static/sw.js)
    response.headers["Cache-Control"] = "no-store"
    return await queries.list_tasks(rt, p, kind, holder, grid, limit, offset)


@router.get("/tasks/export")
async def export_tasks(p: Principal = Depends(principal), rt=Depends(runtime),
                       kind: Literal["new_unit_search", "field_verification"] | None = None,
                       holder: str | None = Code(), format: Literal["csv", "xlsx"] = "csv"):
    """任务底册导出 CSV / XLSX."""
    rows = await queries.export_tasks(rt, p, kind, holder)
    what = {"new_unit_search": "新增单位查找", "field_verification": "实地核实"}.get(kind or "", "全部")
    data = (queries.csv_bytes(queries.TASK_HEADER, rows) if format == "csv"
            else queries.table_xlsx("任务底册", queries.TASK_HEADER, rows))
    return _download(data, f"任务底册-{what}-{holder or p.scope}", format)


@router.post("/tasks/push-down")
async def push_down(cmd: PushDown, p: Principal = Depends(principal), rt=Depends(runtime),
                    key: str | None = IdemKey):
    return _reply(await tasks.push_down(rt, p, cmd, key))


@router.post("/tasks/{task_id}/transfer-out")
async def transfer_out(task_id: uuid.UUID, cmd: TransferOut, p: Principal = Depends(principal),
                       rt=Depends(runtime), key: str | None = IdemKey):
    return _reply(await tasks.transfer_out(rt, p, task_id, cmd, key))


@router.post("/tasks/{task_id}/return")
async def return_up(task_id: uuid.UUID, cmd: ReturnUp, p: Principal = Depends(principal),
                    rt=Depends(runtime), key: str | None = IdemKey):
    return _reply(await tasks.return_up(rt, p, task_id, cmd, key))


@router.get("/grids")
async def list_grids(response: Response, p: Principal = Depends(principal), rt=Depends(runtime)) -> dict:
    response.headers["Cache-Control"] = "no-store"  # grid names and workers: as the task list
    return await queries.list_grids(rt, p)


@router.post("/grids", status_code=201)
async def create_grid(cmd: CreateGrid, p: Principal = Depends(principal), rt=Depends(runtime),
                      key: str | None = IdemKey):
    return _reply(await tasks.create_grid(rt, p, cmd, key))


@router.post("/tasks/assign")
async def assign(cmd: AssignTasks, p: Principal = Depends(principal), rt=Depends(runtime),
                 key: str | None = IdemKey):
    return _reply(await tasks.assign(rt, p, cmd, key))


@router.get("/forms/definition")
async def form_definition(p: Principal = Depends(principal), rt=Depends(runtime)) -> dict:
    """基本单位情况表的表式（最新版本）与定位精度要求."""
    d = form_def()
    assert d is not None
    return {**d.as_dict(), "max_location_accuracy_m": rt.settings.max_location_accuracy_m}


@router.post("/forms", status_code=201)
async def open_form(cmd: OpenUnitForm, p: Principal = Depends(principal), rt=Depends(runtime),
                    key: str | None = IdemKey):
    return _reply(await forms.open_form(rt, p, cmd, key))


@router.get("/forms")
async def list_forms(response: Response, p: Principal = Depends(principal), rt=Depends(runtime),
                     limit: int = Limit(), offset: int = Offset()) -> dict:
    response.headers["Cache-Control"] = "no-store"
    return await forms.list_forms(rt, p, limit, offset)


@router.get("/forms/{form_id}")
async def get_form(form_id: uuid.UUID, response: Response, p: Principal = Depends(principal),
                   rt=Depends(runtime)) -> dict:
    response.headers["Cache-Control"] = "no-store"  # 负责人, 电话
    return await forms.get_form(rt, p, form_id)


@router.put("/forms/{form_id}/draft")
async def save_form(form_id: uuid.UUID, cmd: SaveUnitForm, p: Principal = Depends(principal),
                    rt=Depends(runtime), key: str | None = IdemKey):
    return _reply(await forms.save_draft(rt, p, form_id, cmd, key))


@router.post("/forms/{form_id}/submit")
async def submit_form(form_id: uuid.UUID, cmd: SubmitUnitForm, p: Principal = Depends(principal),
                      rt=Depends(runtime), key: str | None = IdemKey):
    return _reply(await forms.submit(rt, p, form_id, cmd, key))


@router.post("/audits")
async def run_audit(cmd: RunAudit, p: Principal = Depends(principal), rt=Depends(runtime),
                    key: str | None = IdemKey):
    """名录库审核：差错单位生成实地核实任务."""
    return _reply(await rounds.run_audit(rt, p, cmd, key))


@router.post("/rounds", status_code=201)
async def open_round(cmd: OpenRound, p: Principal = Depends(principal), rt=Depends(runtime),
                     key: str | None = IdemKey):
    return _reply(await rounds.open_round(rt, p, cmd, key))


@router.get("/rounds")
async def list_rounds(p: Principal = Depends(principal), rt=Depends(runtime)) -> dict:
    return await rounds.list_rounds(rt, p)


@router.get("/rounds/{round_id}/progress")
async def round_progress(round_id: uuid.UUID, division: str | None = Code(),
                         p: Principal = Depends(principal), rt=Depends(runtime)) -> dict:
    return await rounds.progress(rt, p, round_id, division)


@router.get("/rounds/{round_id}/progress/stream", response_class=StreamingResponse)
async def round_progress_stream(round_id: uuid.UUID, division: str | None = Code(),
                                p: Principal = Depends(principal), rt=Depends(runtime)):
    """确认进度实时推送 (server-sent events): a `progress` snapshot whenever it changes
    (checked every 2 s; the stream ends after 10 minutes and the browser reconnects)."""
    first = await rounds.progress(rt, p, round_id, division)  # 404 before the stream starts

    async def events():
        last, snapshot = None, first
        for _ in range(300):
            body = json.dumps(snapshot, ensure_ascii=False)
            if body != last:
                yield f"event: progress\ndata: {body}\n\n"
                last = body
            else:
                yield ": keep-alive\n\n"
            await asyncio.sleep(2)
            snapshot = await rounds.progress(rt, p, round_id, division)
    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


@router.get("/rounds/{round_id}/units")
async def round_units(round_id: uuid.UUID, p: Principal = Depends(principal),
                      rt=Depends(runtime)) -> dict:
    return await rounds.village_units(rt, p, round_id)


@router.post("/rounds/{round_id}/confirm")
async def confirm_unit(round_id: uuid.UUID, cmd: ConfirmUnit, p: Principal = Depends(principal),
                       rt=Depends(runtime), key: str | None = IdemKey):
    return _reply(await rounds.confirm(rt, p, round_id, cmd, key))
