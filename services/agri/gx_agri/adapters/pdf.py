"""归档打印：the standard statistical report layout as PDF (reportlab).

Chinese text uses reportlab's built-in CID font STSong-Light (Adobe-GB1): no font file ships
with the service, PDF readers supply the glyphs, and the text stays extractable.
"""
from __future__ import annotations

import io
from dataclasses import dataclass, field
from functools import lru_cache

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import (KeepTogether, PageBreak, Paragraph, SimpleDocTemplate, Spacer,
                                Table, TableStyle)

FONT = "STSong-Light"


@dataclass(frozen=True)
class Row:
    """表中一行：指标代码、名称、计量单位、数值（已按小数位格式化）."""

    code: str
    name: str
    unit: str
    value: str


@dataclass(frozen=True)
class Sheet:
    """一张报表（一个存档联次的内容）."""

    title: str
    form_code: str
    form_version: int
    period_name: str
    unit_name: str  # 填报单位
    unit_code: str
    rows: list[Row]
    date: str  # 报出日期, e.g. 2026年7月15日
    facts: list[str] = field(default_factory=list)  # status, counts: one short line each
    notes: list[str] = field(default_factory=list)  # explanations of warnings (说明)
    issuer: str = "广西壮族自治区统计局"  # 制定机关


@lru_cache(maxsize=1)
def _font() -> str:
    pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    return FONT


def _styles() -> dict[str, ParagraphStyle]:
    f = _font()
    return {
        "title": ParagraphStyle("title", fontName=f, fontSize=16, leading=22, alignment=TA_CENTER),
        "copy": ParagraphStyle("copy", fontName=f, fontSize=11, leading=14, alignment=TA_RIGHT),
        "body": ParagraphStyle("body", fontName=f, fontSize=9.5, leading=13),
        "cell": ParagraphStyle("cell", fontName=f, fontSize=9.5, leading=12),
        "num": ParagraphStyle("num", fontName=f, fontSize=9.5, leading=12, alignment=TA_RIGHT),
    }


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _head(sheet: Sheet, copy: str, st) -> list:
    meta = Table([[Paragraph(f"填报单位：{_esc(sheet.unit_name)}（{sheet.unit_code}）", st["body"]),
                   Paragraph(f"表号：{sheet.form_code}表（第{sheet.form_version}版）", st["body"])],
                  [Paragraph(f"报告期：{_esc(sheet.period_name)}", st["body"]),
                   Paragraph(f"制定机关：{sheet.issuer}", st["body"])]],
                 colWidths=[105 * mm, 65 * mm])
    meta.setStyle(TableStyle([("LEFTPADDING", (0, 0), (-1, -1), 0)]))
    return [Paragraph(f"【{copy}】", st["copy"]), Spacer(1, 2 * mm),
            Paragraph(_esc(sheet.title), st["title"]), Spacer(1, 4 * mm), meta, Spacer(1, 3 * mm)]


def _indicator_table(sheet: Sheet, st) -> Table:
    data = [[Paragraph(h, st["cell"]) for h in ("指标代码", "指标名称", "计量单位", "本期数值")]]
    data += [[Paragraph(r.code, st["cell"]), Paragraph(_esc(r.name), st["cell"]),
              Paragraph(r.unit, st["cell"]), Paragraph(r.value, st["num"])] for r in sheet.rows]
    t = Table(data, colWidths=[38 * mm, 72 * mm, 20 * mm, 40 * mm], repeatRows=1)
    t.setStyle(TableStyle([
        ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
    ]))
    return t


def _signatures(sheet: Sheet, st) -> KeepTogether:
    """单位负责人 / 审核人 / 填报人 lines, 报出日期 and the stamp box (盖章)."""
    line = "________________"
    sig = Table([[Paragraph(f"单位负责人：{line}", st["body"]),
                  Paragraph(f"审核人：{line}", st["body"]),
                  Paragraph(f"填报人：{line}", st["body"])]],
                colWidths=[60 * mm, 55 * mm, 55 * mm])
    stamp = Table([[Paragraph("（单位盖章）", st["cell"])]], colWidths=[36 * mm],
                  rowHeights=[36 * mm])
    stamp.setStyle(TableStyle([("BOX", (0, 0), (-1, -1), 0.8, colors.black),
                               ("ALIGN", (0, 0), (-1, -1), "CENTER"),
                               ("VALIGN", (0, 0), (-1, -1), "MIDDLE")]))
    outer = Table([[Paragraph(f"报出日期：{sheet.date}", st["body"]), stamp]],
                  colWidths=[130 * mm, 38 * mm])
    outer.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "BOTTOM")]))
    return KeepTogether([Spacer(1, 6 * mm), sig, Spacer(1, 4 * mm), outer])


def render(sheet: Sheet, copies: tuple[str, ...]) -> bytes:
    """One PDF holding the sheet once per copy label (e.g. 村存档, 乡镇存档), each from a new page."""
    st = _styles()
    story: list = []
    for i, copy in enumerate(copies):
        if i:
            story.append(PageBreak())
        story += _head(sheet, copy, st)
        story.append(_indicator_table(sheet, st))
        for fact in sheet.facts:
            story.append(Paragraph(_esc(fact), st["body"]))
        if sheet.notes:
            story.append(Spacer(1, 2 * mm))
            story.append(Paragraph("说明：", st["body"]))
            story += [Paragraph(_esc(n), st["body"]) for n in sheet.notes]
        story.append(_signatures(sheet, st))
    out = io.BytesIO()
    doc = SimpleDocTemplate(out, pagesize=A4, leftMargin=20 * mm, rightMargin=20 * mm,
                            topMargin=15 * mm, bottomMargin=15 * mm, title=sheet.title,
                            author=sheet.unit_name, subject=f"{sheet.form_code} {sheet.period_name}")
    doc.build(story)
    return out.getvalue()
