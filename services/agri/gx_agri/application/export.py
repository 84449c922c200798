"""导出: a task at any division level as CSV or XLSX (one row per village, then the total),
in Chinese: status words, file name, numbers to each indicator's decimals."""
from __future__ import annotations

import csv
import io
import uuid
from dataclasses import dataclass
from typing import Any

from gx_contracts.divisions import Level
from gx_kernel.identity import Principal
from gx_kernel.service import ServiceRuntime

from gx_agri.adapters import repo
from gx_agri.application import aggregation, paper
from gx_agri.domain import numbers
from gx_agri.domain import report as rep
from gx_agri.domain.catalogue import Indicator, default_catalogue
from gx_agri.domain.report import required_rank

FIXED = ["区划代码", "村（居）委会", "第几次报送", "状态"]
BASIS_ZH = {"submitted": "已报送", "approved": "已审核通过", "accepted": "已验收", "confirmed": "已确认"}


@dataclass(frozen=True)
class Table:
    title: str  # 2026年早稻农作物播种面积及产量
    meta: list[str]  # 表号, 报告期, 汇总单位, 口径: one line each above the table
    header: list[str]
    indicators: list[Indicator]  # the columns after FIXED, in order
    rows: list[list[Any]]  # values rounded to decimals (int for 0 decimals), None when absent
    name: str  # file name without extension
    sheet: str  # the sheet's Chinese name


async def table(rt: ServiceRuntime, p: Principal, task_id: uuid.UUID, division: str | None,
                basis: str) -> Table:
    tot = await aggregation.totals(rt, p, task_id, division, basis)
    drill = await aggregation.drilldown(rt, p, task_id, tot["division"], basis, None, 20000, 0)
    form = default_catalogue().get(tot["form_code"], tot["form_version"])
    inds = list(form.indicators)
    period = paper.period_zh(form, tot["period"])
    async with rt.pool.acquire() as conn:
        place = await repo.division(conn, rt.settings.schema, tot["division"])
    place_name = place["name"] if place else tot["division"]
    basis_zh = BASIS_ZH.get(basis, basis)
    level = list(Level)[required_rank(Level(tot["level"]))]
    rows = [[r["village_code"], r["village_name"], r["revision"], rep.status_zh(r)]
            + [numbers.rounded(r["values"].get(i.code), i.decimals) for i in inds]
            for r in drill["items"]]
    rows.append([tot["division"], "合计", None, f"{tot['report_count']} 份（口径：{basis_zh}）"]
                + [tot["totals"].get(i.code) for i in inds])
    h = paper.header(form.code, form.version)
    meta = [f"表号：{h.table_no}　制定机关：{h.issuer}",
            f"报告期：{period}　汇总单位：{place_name}（{tot['division']}）",
            f"口径：{basis_zh}，即{paper.basis_zh(basis, level)}；合计为下列各村之和"]
    return Table(title=f"{period}{form.name}", meta=meta,
                 header=FIXED + [f"{i.name}（{i.unit}）" for i in inds], indicators=inds,
                 rows=rows, name=paper.file_name(place_name, period + form.name, basis_zh),
                 sheet=f"{place_name}{period}汇总"[:31])


def _cell(v: Any, ind: Indicator | None) -> str:
    if v is None:
        return ""
    return numbers.text(v, ind.decimals) if ind else str(v)


def to_csv(t: Table) -> bytes:
    cols = [None] * len(FIXED) + t.indicators
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(t.header)
    w.writerows([[_cell(v, ind) for v, ind in zip(row, cols)] for row in t.rows])
    return buf.getvalue().encode("utf-8-sig")  # BOM: Excel opens Chinese CSV correctly


def to_xlsx(t: Table) -> bytes:
    """A title block (title, 表号, 报告期), the header row with units, widths set, and each
    indicator's number format from its decimals."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    ws = wb.active
    ws.title = t.sheet
    width = len(t.header)
    ws.append([t.title])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
    ws["A1"].font = Font(size=14, bold=True)
    ws["A1"].alignment = Alignment(horizontal="center")
    for line in t.meta:
        ws.append([line])
        ws.merge_cells(start_row=ws.max_row, start_column=1, end_row=ws.max_row, end_column=width)
    ws.append(t.header)
    head_row = ws.max_row
    for c in ws[head_row]:
        c.font = Font(bold=True)
        c.alignment = Alignment(wrap_text=True, horizontal="center", vertical="center")
    for row in t.rows:
        ws.append(row)
    for j, ind in enumerate(t.indicators, start=len(FIXED) + 1):
        fmt = "0" if ind.decimals == 0 else "0." + "0" * ind.decimals
        for (cell,) in ws.iter_rows(min_row=head_row + 1, min_col=j, max_col=j):
            cell.number_format = fmt
        ws.column_dimensions[get_column_letter(j)].width = 14
    for j, w in enumerate((15, 18, 10, 16), start=1):
        ws.column_dimensions[get_column_letter(j)].width = w
    ws.row_dimensions[head_row].height = 45
    ws.freeze_panes = ws.cell(row=head_row + 1, column=3)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
