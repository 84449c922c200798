"""事后质量抽查结果：a bar chart (SVG) and a PDF with the table and the formulas (reportlab).

Chinese text in the built-in CID font STSong-Light (no font file needed)."""
from __future__ import annotations

import io
from typing import Any

from reportlab.graphics import renderSVG
from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

FONT = "STSong-Light"
pdfmetrics.registerFont(UnicodeCIDFont(FONT))
COLUMNS = [("area_code", "调查小区"), ("C", "登记人数C"), ("P", "复查人数P"), ("M", "匹配M"),
           ("II", "信息不全II"), ("CE", "正确登记CE"), ("omission_rate", "漏登率"),
           ("erroneous_inclusion_rate", "错误登记率"), ("dse", "双系统估计DSE"),
           ("net_coverage_error", "净覆盖误差")]


def _fmt(key: str, v: Any) -> str:
    if v is None:
        return "—"
    if key.endswith("rate") or key == "net_coverage_error":
        return f"{100 * v:.2f}%"
    if isinstance(v, float):
        return f"{v:,.1f}"
    return str(v)


def chart(result: dict[str, Any]) -> Drawing:
    """The matched areas' bars; while none is matched, the frame saying 暂无数据 (reportlab's
    bar chart cannot draw no categories)."""
    areas = [a for a in result["areas"] if a.get("matched", True)]
    d = Drawing(520, 260)
    d.add(String(50, 235, "各抽查小区漏登率（蓝）与错误登记率（橙），%", fontName=FONT, fontSize=11))
    if not areas:
        d.add(String(260, 130, "暂无数据（抽取的调查小区尚未比对）", fontName=FONT, fontSize=12,
                     textAnchor="middle", fillColor=colors.grey))
        return d
    bc = VerticalBarChart()
    bc.x, bc.y, bc.width, bc.height = 50, 50, 440, 170
    bc.data = [[100 * (a["omission_rate"] or 0) for a in areas],
               [100 * (a["erroneous_inclusion_rate"] or 0) for a in areas]]
    bc.categoryAxis.categoryNames = [a["area_code"][-6:] for a in areas]
    bc.categoryAxis.labels.fontName = FONT
    bc.valueAxis.valueMin = 0
    bc.bars[0].fillColor, bc.bars[1].fillColor = colors.HexColor("#1f6feb"), colors.HexColor("#d29922")
    d.add(bc)
    return d


def chart_svg(result: dict[str, Any]) -> bytes:
    return renderSVG.drawToString(chart(result)).encode("utf-8")


def pdf(result: dict[str, Any]) -> bytes:
    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=landscape(A4), leftMargin=12 * mm, rightMargin=12 * mm,
                            topMargin=12 * mm, bottomMargin=12 * mm,
                            title=f"{result['survey_year']}年人口变动调查事后质量抽查结果")
    h = ParagraphStyle("h", fontName=FONT, fontSize=15, leading=20)
    t = ParagraphStyle("t", fontName=FONT, fontSize=9, leading=13)
    rows = [[label for _, label in COLUMNS]]
    for a in [*result["areas"], {**result["overall"], "area_code": "合计"}]:
        rows.append([_fmt(k, a.get(k)) for k, _ in COLUMNS])
    table = Table(rows, repeatRows=1)
    table.setStyle(TableStyle([("FONTNAME", (0, 0), (-1, -1), FONT), ("FONTSIZE", (0, 0), (-1, -1), 8),
                               ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                               ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee"))]))
    story = [Paragraph(f"{result['survey_year']}年人口变动情况抽样调查 事后质量抽查结果", h),
             Paragraph(f"抽样框 {result['frame_size']} 个调查小区，抽取 {len(result['area_codes'])} 个；"
                       f"随机种子 {result['seed']}（同一抽样框与种子可复现样本）", t),
             Spacer(1, 4 * mm), table, Spacer(1, 4 * mm), chart(result), Spacer(1, 3 * mm)]
    if result.get("unmatched"):
        story.insert(-2, Paragraph("尚未比对（不计入合计）：" + "、".join(result["unmatched"]), t))
    story += [Paragraph(v, t) for v in result["formulas"].values()]
    story += [Paragraph(f"{k}：{v}", t) for k, v in result["symbols"].items()]
    doc.build(story)
    return buf.getvalue()
