"""HTTP routes of the agri service (/api/v1/agri/...): parse, authorise, delegate."""
from __future__ import annotations

import uuid
from typing import Literal
from urllib.parse import quote

from fastapi import APIRouter, Body, Depends, Header, Query, Request
from fastapi.responses import JSONResponse, Response

from gx_contracts.commands.agri import PublishTask, SaveDraft, SubmitReport
from gx_kernel.http import principal, runtime
from gx_kernel.http import reply as _reply
from gx_kernel.identity import Principal

from gx_agri.api.errors import MAX_LIMIT, MAX_OFFSET
from gx_agri.application import aggregation, archive, commands, monitor, queries
from gx_agri.application import export as export_
from gx_agri.domain.catalogue import default_catalogue

router = APIRouter(prefix="/api/v1/agri", tags=["agri"])
Basis = Literal["submitted", "approved"]
IdemKey = Header(None, alias="Idempotency-Key", max_length=200)




@router.get("/forms")
async def forms(p: Principal = Depends(principal)) -> dict:
    """报表目录 (every version)."""
    return {"items": [f.as_dict() for f in default_catalogue().all()]}


@router.post("/tasks", status_code=201)
async def publish(cmd: PublishTask, p: Principal = Depends(principal), rt=Depends(runtime),
                  key: str | None = IdemKey):
    return _reply(await commands.publish_task(rt, p, cmd, key))


@router.get("/tasks")
async def list_tasks(p: Principal = Depends(principal), rt=Depends(runtime)) -> dict:
    return await queries.list_tasks(rt, p)


@router.get("/tasks/{task_id}")
async def get_task(task_id: uuid.UUID, p: Principal = Depends(principal),
                   rt=Depends(runtime)) -> dict:
    return await queries.get_task(rt, p, task_id)


@router.get("/tasks/{task_id}/totals")
async def totals(task_id: uuid.UUID, division: str | None = Query(None, max_length=12),
                 basis: Basis = "submitted", p: Principal = Depends(principal),
                 rt=Depends(runtime)) -> dict:
    return await aggregation.totals(rt, p, task_id, division, basis)


@router.get("/tasks/{task_id}/drilldown")
async def drilldown(task_id: uuid.UUID, division: str | None = Query(None, max_length=12),
                    basis: Basis = "submitted", indicator: str | None = Query(None, max_length=64),
                    limit: int = Query(1000, ge=1, le=MAX_LIMIT),
                    offset: int = Query(0, ge=0, le=MAX_OFFSET),
                    after: str | None = Query(None, pattern=r"^[0-9]{12}$"),
                    p: Principal = Depends(principal), rt=Depends(runtime)) -> dict:
    """溯源：the villages behind a total, by village code; page with `after` (keyset) or offset."""
    return await aggregation.drilldown(rt, p, task_id, division, basis, indicator, limit, offset,
                                       after)


@router.get("/reports/{report_id}")
async def get_report(report_id: uuid.UUID, p: Principal = Depends(principal),
                     rt=Depends(runtime)) -> dict:
    return await queries.get_report(rt, p, report_id)


@router.put("/reports/{report_id}/draft")
async def save_draft(report_id: uuid.UUID, cmd: SaveDraft, p: Principal = Depends(principal),
                     rt=Depends(runtime), key: str | None = IdemKey):
    return _reply(await commands.save_draft(rt, p, report_id, cmd, key))


@router.post("/reports/{report_id}/validate")
async def validate(report_id: uuid.UUID, body: SaveDraft | None = Body(None),
                   p: Principal = Depends(principal), rt=Depends(runtime)) -> dict:
    return await queries.validate_values(rt, p, report_id, body)


@router.post("/reports/{report_id}/submit")
async def submit(report_id: uuid.UUID, cmd: SubmitReport, p: Principal = Depends(principal),
                 rt=Depends(runtime), key: str | None = IdemKey):
    return _reply(await commands.submit_report(rt, p, report_id, cmd, key))


@router.get("/reports/{report_id}/history")
async def history(report_id: uuid.UUID, p: Principal = Depends(principal),
                  rt=Depends(runtime)) -> dict:
    return await queries.history(rt, p, report_id)


@router.get("/tasks/{task_id}/export")
async def export(task_id: uuid.UUID, division: str | None = Query(None, max_length=12),
                 basis: Basis = "submitted", format: Literal["csv", "xlsx"] = "csv",
                 p: Principal = Depends(principal), rt=Depends(runtime)) -> Response:
    """CSV or XLSX of a task at a division: every village's values and the total."""
    t = await export_.table(rt, p, task_id, division, basis)
    if format == "csv":
        body, media = export_.to_csv(t), "text/csv; charset=utf-8"
    else:
        body = export_.to_xlsx(t)
        media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(body, media_type=media,
                    headers={"Content-Disposition": _disposition("attachment", f"{t.name}.{format}")})


def _disposition(kind: str, name: str) -> str:
    """Chinese file names per RFC 6266/5987 (filename* in UTF-8), an ASCII filename beside it."""
    ascii_name = "gxstat." + name.rsplit(".", 1)[-1]  # for clients without filename*
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


def _pdf(body: bytes, name: str) -> Response:
    return Response(body, media_type="application/pdf",
                    headers={"Content-Disposition": _disposition("inline", name),
                             "Cache-Control": "no-store"})


@router.get("/reports/{report_id}/pdf", response_class=Response,
            responses={200: {"content": {"application/pdf": {}}}})
async def report_pdf(report_id: uuid.UUID, p: Principal = Depends(principal),
                     rt=Depends(runtime)) -> Response:
    """归档打印：报送（或验收）的村级报表，两联（村存档、乡镇存档）."""
    return _pdf(*await archive.report_pdf(rt, p, report_id))


@router.get("/tasks/{task_id}/summary.pdf", response_class=Response,
            responses={200: {"content": {"application/pdf": {}}}})
async def summary_pdf(task_id: uuid.UUID, division: str = Query(..., max_length=12),
                      p: Principal = Depends(principal), rt=Depends(runtime)) -> Response:
    """汇总表（乡镇、县、市或自治区，经本级审核通过的村级报表），本级与上级两联存档."""
    return _pdf(*await archive.summary_pdf(rt, p, task_id, division))


@router.get("/tasks/{task_id}/monitor")
async def monitor_task(task_id: uuid.UUID, request: Request,
                       division: str | None = Query(None, max_length=12),
                       p: Principal = Depends(principal), rt=Depends(runtime)) -> Response:
    """进度监控：各下级区划的报送/审核进度与指标汇总（已报送口径、已审核口径）.

    Send the last `etag` as If-None-Match: an unchanged view answers 304 without the scans."""
    seen = request.headers.get("if-none-match")
    if seen and seen == await monitor.stamp(rt, p, task_id, division):
        return Response(status_code=304, headers={"ETag": seen})
    body = await monitor.monitor(rt, p, task_id, division)
    return JSONResponse(body, headers={"ETag": body["etag"], "Cache-Control": "no-cache"})
