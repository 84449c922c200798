"""Agriculture request bodies (农业统计)."""

from __future__ import annotations

from typing import Annotated

from pydantic import AwareDatetime, Field

from ..events.agri import MAX_INDICATORS
from ..types import (
    Command,
    DivisionCode,
    ExpectedVersion,
    FormCode,
    IndicatorCode,
    NonNegativeValue,
    Period,
    no_nul,
)

__all__ = ["PublishTask", "SaveDraft", "SubmitReport", "MAX_EXPLANATION"]

MAX_EXPLANATION = 500
"""Longest explanation (说明) of one indicator, in characters."""


Explanation = Annotated[str, no_nul, Field(max_length=MAX_EXPLANATION)]


class PublishTask(Command):
    """发布报表任务."""

    form_code: FormCode = Field(title="表号")
    period: Period = Field(title="报告期")
    title: Annotated[str, no_nul] = Field(
        min_length=1, max_length=100, title="任务标题", description="任务标题（至多100字）")
    scope_division: DivisionCode = Field(title="任务范围", description="任务范围的区划代码（12位数字）")
    deadline: AwareDatetime = Field(title="截止时间", description="截止时间（带时区的 RFC 3339 时间）")


class SaveDraft(Command):
    """保存报表草稿."""

    values: dict[IndicatorCode, NonNegativeValue] = Field(
        title="指标值",
        description="指标代码 -> 指标值（JSON 数值或 null = 未填；还须在报表目录该指标的取值范围内）",
        max_length=MAX_INDICATORS)
    explanations: dict[IndicatorCode, Explanation] = Field(
        default_factory=dict, title="说明", max_length=MAX_INDICATORS,
        description="指标代码 -> 对审核警告的说明，或对退回批注的答复（核实无误的说明），至多500字")
    expected_version: ExpectedVersion


class SubmitReport(Command):
    """提交报表."""

    expected_version: ExpectedVersion
