"""归档打印：the standard statistical report layout as PDF (reportlab).

Chinese text uses a TrueType CJK font, subset-embedded (adapters/cjk_font.py). Rows carry the
standard row numbers (代码 1, 2, 3 … beside the 甲/乙 columns), never internal indicator codes.
"""
from __future__ import annotations

import io
from dataclasses import dataclass, field

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import (
    KeepTogether,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from gx_agri.adapters.cjk_font import font_name


@dataclass(frozen=True)
class Row:
    """表中一行：行次（代码 1, 2, 3 …）、指标名称、计量单位、数值（已按小数位格式化）."""

    no: int
    name: str
    unit: str
    value: str


@dataclass(frozen=True)
class Header:
    """表头 from the catalogue: 表号, 制定机关, 批准机关, 批准文号, 有效期至."""

    table_no: str
    issuer: str = "广西壮族自治区统计局"
    approver: str = ""
    approval_no: str = ""
    valid_until: str = ""


@dataclass(frozen=True)
class Step:
    """审核记录中一步：环节、人员（姓名、角色、区划）、时间."""

    what: str
    who: str
    when: str


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
    header: Header | None = None
    trail: list[Step] = field(default_factory=list)  # who approved / accepted / confirmed, when


def _styles() -> dict[str, ParagraphStyle]:
    f = font_name()
    return {
        "title": ParagraphStyle("title", fontName=f, fontSize=16, leading=22, alignment=TA_CENTER),
        "copy": ParagraphStyle("copy", fontName=f, fontSize=11, leading=14, alignment=TA_RIGHT),
        "body": ParagraphStyle("body", fontName=f, fontSize=9.5, leading=12),
        "cell": ParagraphStyle("cell", fontName=f, fontSize=9, leading=11),
        "num": ParagraphStyle("num", fontName=f, fontSize=9, leading=11, alignment=TA_RIGHT),
        "mid": ParagraphStyle("mid", fontName=f, fontSize=9, leading=11, alignment=TA_CENTER),
        "small": ParagraphStyle("small", fontName=f, fontSize=8.5, leading=11),
    }


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _head(sheet: Sheet, copy: str, st) -> list:
    h = sheet.header or Header(f"{sheet.form_code}表")
    right = [f"表　　号：{h.table_no}", f"制定机关：{h.issuer}"]
    right += [f"{k}：{v}" for k, v in (("批准机关", h.approver), ("批准文号", h.approval_no),
                                      ("有效期至", h.valid_until)) if v]
    top = Table([[Paragraph(f"【{copy}】", st["body"]),
                  [Paragraph(_esc(line), st["small"]) for line in right]]],
                colWidths=[110 * mm, 60 * mm])
    top.setStyle(TableStyle([("LEFTPADDING", (0, 0), (-1, -1), 0), ("VALIGN", (0, 0), (-1, -1), "TOP")]))
    meta = Table([[Paragraph(f"填报单位：{_esc(sheet.unit_name)}（{sheet.unit_code}）", st["body"]),
                   Paragraph(f"报告期：{_esc(sheet.period_name)}", st["body"])]],
                 colWidths=[110 * mm, 60 * mm])
    meta.setStyle(TableStyle([("LEFTPADDING", (0, 0), (-1, -1), 0)]))
    return [top, Spacer(1, 2 * mm), Paragraph(_esc(sheet.title), st["title"]), Spacer(1, 4 * mm),
            meta, Spacer(1, 2 * mm)]


def _indicator_table(sheet: Sheet, st) -> Table:
    """指标名称 (甲), 计量单位 (乙), 代码 (丙: the row number) and 本期数值 (1)."""
    data = [[Paragraph(h, st["mid"]) for h in ("指标名称", "计量单位", "代码", "本期数值")],
            [Paragraph(h, st["mid"]) for h in ("甲", "乙", "丙", "1")]]
    data += [[Paragraph(_esc(r.name), st["cell"]), Paragraph(r.unit, st["mid"]),
              Paragraph(str(r.no), st["mid"]), Paragraph(r.value, st["num"])] for r in sheet.rows]
    t = Table(data, colWidths=[82 * mm, 24 * mm, 16 * mm, 48 * mm], repeatRows=2)
    t.setStyle(TableStyle([
        ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
        ("BACKGROUND", (0, 0), (-1, 1), colors.HexColor("#eeeeee")),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 1.5), ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
    ]))
    return t


def _trail(sheet: Sheet, st) -> list:
    """审核记录: who submitted, approved, accepted (数据验收) and confirmed (审核确认), when."""
    if not sheet.trail:
        return []
    data = [[Paragraph(h, st["mid"]) for h in ("环节", "人员", "时间")]]
    data += [[Paragraph(_esc(s.what), st["cell"]), Paragraph(_esc(s.who), st["cell"]),
              Paragraph(s.when, st["cell"])] for s in sheet.trail]
    t = Table(data, colWidths=[32 * mm, 98 * mm, 40 * mm])
    t.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                           ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                           ("TOPPADDING", (0, 0), (-1, -1), 1), ("BOTTOMPADDING", (0, 0), (-1, -1), 1)]))
    return [Spacer(1, 3 * mm), Paragraph("审核记录：", st["body"]), t]


def _signatures(sheet: Sheet, st) -> KeepTogether:
    """单位负责人 / 审核人 / 填报人 lines, 报出日期 and the stamp box (盖章)."""
    line = "________________"
    sig = Table([[Paragraph(f"单位负责人：{line}", st["body"]),
                  Paragraph(f"审核人：{line}", st["body"]),
                  Paragraph(f"填报人：{line}", st["body"])]],
                colWidths=[60 * mm, 55 * mm, 55 * mm])
    stamp = Table([[Paragraph("（单位盖章）", st["mid"])]], colWidths=[30 * mm],
                  rowHeights=[30 * mm])
    stamp.setStyle(TableStyle([("BOX", (0, 0), (-1, -1), 0.8, colors.black),
                               ("ALIGN", (0, 0), (-1, -1), "CENTER"),
                               ("VALIGN", (0, 0), (-1, -1), "MIDDLE")]))
    outer = Table([[Paragraph(f"报出日期：{sheet.date}", st["body"]), stamp]],
                  colWidths=[136 * mm, 32 * mm])
    outer.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "BOTTOM")]))
    return KeepTogether([Spacer(1, 4 * mm), sig, Spacer(1, 2 * mm), outer])


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
        story += _trail(sheet, st)
        story.append(_signatures(sheet, st))
    out = io.BytesIO()
    doc = SimpleDocTemplate(out, pagesize=A4, leftMargin=20 * mm, rightMargin=20 * mm,
                            topMargin=15 * mm, bottomMargin=15 * mm, title=sheet.title,
                            author=sheet.unit_name, subject=f"{sheet.form_code} {sheet.period_name}")
    doc.build(story)
    return out.getvalue()
