"""HTTP routes of the ledger, re-check and post-enumeration check (/api/v1/population/...)."""
from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, Header, Query
from fastapi.responses import Response

from gx_contracts.commands.population import (
    AdjustLedger,
    AssignPesTeam,
    DrawPesSample,
    ExplainDiscrepancy,
    MatchPes,
    RecordAdminFigures,
    RecordPesCheck,
    ReportChange,
)
from gx_kernel.http import principal, runtime
from gx_kernel.http import reply as _reply
from gx_kernel.identity import Principal

from gx_population.adapters import pes_report
from gx_population.application import ledger, pes

router = APIRouter(prefix="/api/v1/population", tags=["population"])
IdemKey = Header(None, alias="Idempotency-Key", max_length=200)
Month = Query(..., pattern=r"^20[0-9]{2}-(0[1-9]|1[0-2])$", max_length=7,
              description="月份 YYYY-MM（2000-01至2099-12）")




@router.post("/ledger/changes")
async def report_change(cmd: ReportChange, p: Principal = Depends(principal), rt=Depends(runtime),
                        key: str | None = IdemKey):
    """网格员报告人口变动（出生、死亡、迁入、迁出）."""
    return _reply(await ledger.report_change(rt, p, cmd, key))


@router.post("/ledger/adjustments")
async def adjust(cmd: AdjustLedger, p: Principal = Depends(principal), rt=Depends(runtime),
                 key: str | None = IdemKey):
    return _reply(await ledger.adjust(rt, p, cmd, key))


@router.get("/ledger")
async def get_ledger(month: str = Month,
                     division: str | None = Query(None, pattern=r"^[0-9]{12}$", max_length=12),
                     p: Principal = Depends(principal), rt=Depends(runtime)) -> dict:
    """人口信息指标台账：村（按月）或乡镇、县（各村汇总）."""
    return await ledger.ledger(rt, p, division, month)


@router.put("/areas/{area_id}/admin-figures")
async def admin_figures(area_id: uuid.UUID, cmd: RecordAdminFigures,
                        p: Principal = Depends(principal), rt=Depends(runtime),
                        key: str | None = IdemKey):
    return _reply(await ledger.record_admin(rt, p, area_id, cmd, key))


@router.get("/areas/{area_id}/recheck")
async def recheck(area_id: uuid.UUID, p: Principal = Depends(principal),
                  rt=Depends(runtime)) -> dict:
    """复查：登记数与行政记录数的差异（超出容差的逐项列出）."""
    return await ledger.recheck_report(rt, p, area_id)


@router.post("/areas/{area_id}/recheck/explanations")
async def explain(area_id: uuid.UUID, cmd: ExplainDiscrepancy, p: Principal = Depends(principal),
                  rt=Depends(runtime), key: str | None = IdemKey):
    return _reply(await ledger.explain(rt, p, area_id, cmd, key))


@router.post("/pes/samples")
async def draw(cmd: DrawPesSample, p: Principal = Depends(principal), rt=Depends(runtime),
               key: str | None = IdemKey):
    return _reply(await pes.draw(rt, p, cmd, key))


@router.post("/pes/samples/{sample_id}/areas/{area_id}/team")
async def team(sample_id: uuid.UUID, area_id: uuid.UUID, cmd: AssignPesTeam,
               p: Principal = Depends(principal), rt=Depends(runtime), key: str | None = IdemKey):
    return _reply(await pes.assign_team(rt, p, sample_id, area_id, cmd, key))


@router.post("/pes/samples/{sample_id}/areas/{area_id}/records")
async def check(sample_id: uuid.UUID, area_id: uuid.UUID, cmd: RecordPesCheck,
                p: Principal = Depends(principal), rt=Depends(runtime), key: str | None = IdemKey):
    return _reply(await pes.record_check(rt, p, sample_id, area_id, cmd, key))


@router.post("/pes/samples/{sample_id}/areas/{area_id}/match")
async def match(sample_id: uuid.UUID, area_id: uuid.UUID, cmd: MatchPes,
                p: Principal = Depends(principal), rt=Depends(runtime), key: str | None = IdemKey):
    return _reply(await pes.match(rt, p, sample_id, area_id, cmd, key))


@router.get("/pes/samples/{sample_id}/results")
async def results(sample_id: uuid.UUID, p: Principal = Depends(principal),
                  rt=Depends(runtime)) -> dict:
    return await pes.results(rt, p, sample_id)


@router.get("/pes/samples/{sample_id}/chart.svg", response_class=Response)
async def chart(sample_id: uuid.UUID, p: Principal = Depends(principal), rt=Depends(runtime)):
    body = pes_report.chart_svg(await pes.results(rt, p, sample_id))
    return Response(body, media_type="image/svg+xml")


@router.get("/pes/samples/{sample_id}/results.pdf", response_class=Response)
async def results_pdf(sample_id: uuid.UUID, p: Principal = Depends(principal),
                      rt=Depends(runtime)):
    body = pes_report.pdf(await pes.results(rt, p, sample_id))
    name = "%E4%BA%8B%E5%90%8E%E8%B4%A8%E9%87%8F%E6%8A%BD%E6%9F%A5%E7%BB%93%E6%9E%9C.pdf"
    return Response(body, media_type="application/pdf", headers={
        "Content-Disposition": f"inline; filename=\"gxstat-pes.pdf\"; filename*=UTF-8''{name}"})
