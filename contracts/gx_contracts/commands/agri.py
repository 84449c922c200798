"""Agriculture request bodies (农业统计)."""

from __future__ import annotations

import math
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BeforeValidator, Field
from pydantic_core import PydanticCustomError

from ..events.agri import MAX_INDICATORS
from ..types import Command, DivisionCode, ExpectedVersion, FormCode, IndicatorCode, Period

__all__ = ["PublishTask", "SaveDraft", "SubmitReport", "ReportValue", "MAX_EXPLANATION"]

MAX_EXPLANATION = 500
"""Longest explanation (说明) of one indicator, in characters."""


def _strict_number(v: Any) -> Any:
    """A report value is a JSON number or null: no true -> 1, no "100" -> 100."""
    if v is None:
        return v
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise PydanticCustomError("report_value_type",
                                  "指标值必须是数字或 null（不能是文本、布尔值、数组或对象）")
    if isinstance(v, float) and not math.isfinite(v):
        raise PydanticCustomError("finite_number", "指标值必须是有限数值（不能是 NaN 或 Infinity）")
    if v < 0:
        raise PydanticCustomError("non_negative", "指标值不能为负数")
    return v


def _plain_text(v: str) -> str:
    if "\x00" in v:
        raise PydanticCustomError("nul_character", "不能包含空字符（\\u0000）")
    return v


ReportValue = Annotated[float | int | None, BeforeValidator(_strict_number)]
"""An indicator value in a command: a non-negative finite JSON number, or null = not filled."""
Explanation = Annotated[str, Field(max_length=MAX_EXPLANATION), AfterValidator(_plain_text)]


class PublishTask(Command):
    """发布报表任务."""

    form_code: FormCode = Field(title="表号")
    period: Period = Field(title="报告期")
    title: Annotated[str, AfterValidator(_plain_text)] = Field(
        min_length=1, max_length=100, title="任务标题", description="任务标题（至多100字）")
    scope_division: DivisionCode = Field(title="任务范围", description="任务范围的区划代码（12位数字）")
    deadline: AwareDatetime = Field(title="截止时间", description="截止时间（带时区的 RFC 3339 时间）")


class SaveDraft(Command):
    """保存报表草稿."""

    values: dict[IndicatorCode, ReportValue] = Field(
        title="指标值", description="指标代码 -> 指标值（非负数；null = 未填；须在指标取值范围内）",
        max_length=MAX_INDICATORS)
    explanations: dict[IndicatorCode, Explanation] = Field(
        default_factory=dict, title="说明", max_length=MAX_INDICATORS,
        description="指标代码 -> 对审核警告的说明，或对退回批注的答复（核实无误的说明），至多500字")
    expected_version: ExpectedVersion


class SubmitReport(Command):
    """提交报表."""

    expected_version: ExpectedVersion
