"""导出: a task at any division level as CSV or XLSX (one row per village, then the total)."""
from __future__ import annotations

import csv
import io
import uuid
from typing import Any

from gx_kernel.identity import Principal
from gx_kernel.service import ServiceRuntime

from gx_agri.application import aggregation
from gx_agri.domain.catalogue import default_catalogue


async def table(rt: ServiceRuntime, p: Principal, task_id: uuid.UUID, division: str | None,
                basis: str) -> tuple[list[str], list[list[Any]], str]:
    tot = await aggregation.totals(rt, p, task_id, division, basis)
    drill = await aggregation.drilldown(rt, p, task_id, tot["division"], basis, None, 20000, 0)
    form = default_catalogue().get(tot["form_code"], tot["form_version"])
    header = ["区划代码", "村（居）委会", "报表ID", "第几次提交", "状态"] + [
        f"{i.name}（{i.unit}）" for i in form.indicators]
    rows = [[r["village_code"], r["village_name"], r["report_id"], r["revision"], r["status"]]
            + [r["values"].get(i.code) for i in form.indicators] for r in drill["items"]]
    rows.append([tot["division"], "合计", "", "", f"{tot['report_count']} 份"]
                + [tot["totals"].get(i.code) for i in form.indicators])
    name = f"{form.code}_{tot['period']}_{tot['division']}_{basis}"
    return header, rows, name


def to_csv(header: list[str], rows: list[list[Any]]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(header)
    w.writerows([["" if v is None else v for v in row] for row in rows])
    return buf.getvalue().encode("utf-8-sig")  # BOM: Excel opens Chinese CSV correctly


def to_xlsx(header: list[str], rows: list[list[Any]], title: str) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = title[:31]
    ws.append(header)
    for row in rows:
        ws.append(row)
    ws.freeze_panes = "C2"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
