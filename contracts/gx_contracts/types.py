"""Shared field types and base models for events and commands (Chinese validation messages)."""

from __future__ import annotations

import math
from typing import Annotated, ClassVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError

from .divisions import is_valid_code

__all__ = [
    "EventPayload",
    "Command",
    "DivisionCode",
    "FormCode",
    "Period",
    "SubjectKind",
    "IndicatorCode",
    "Revision",
    "ExpectedVersion",
    "Comment",
    "RequiredReason",
    "IndicatorValue",
    "NonNegativeValue",
    "FieldNotes",
]


class EventPayload(BaseModel):
    """Base of every event payload: readers ignore fields they do not know (forward compatible)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    EVENT_TYPE: ClassVar[str] = ""  # set by @event
    SCHEMA_VERSION: ClassVar[int] = 0


class Command(BaseModel):
    """Base of every request body: unknown fields are rejected."""

    model_config = ConfigDict(extra="forbid")


def _division_code(v: str) -> str:
    if not is_valid_code(v):
        raise PydanticCustomError("division_code", "统计用区划代码必须是12位数字")
    return v


def _finite(v: float | int | None) -> float | int | None:
    if isinstance(v, float) and not math.isfinite(v):
        raise PydanticCustomError("finite_number", "指标值必须是有限数值")
    return v


def _non_negative(v: float | int | None) -> float | int | None:
    v = _finite(v)
    if v is not None and v < 0:
        raise PydanticCustomError("non_negative", "指标值不能为负数")
    return v


def _not_blank(v: str) -> str:
    if not v.strip():
        raise PydanticCustomError("not_blank", "不能为空")
    return v


DivisionCode = Annotated[
    str,
    AfterValidator(_division_code),
    Field(pattern=r"^[1-9][0-9]{11}$", description="统计用区划代码（12位数字）", examples=["450103103201"]),
]
FormCode = Annotated[
    str,
    Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,31}$", description="报表表号，如 A301、LA402-1"),
]
Period = Annotated[
    str,
    Field(
        pattern=r"^[0-9]{4}(-[0-9A-Za-z]{1,8})?$",
        description="报告期：年份，可带期别后缀，如 2026、2026-03、2026-Q1、2026-H1",
    ),
]
SubjectKind = Annotated[
    str,
    Field(pattern=r"^[a-z]+\.[a-z_]+$", description="审核对象类别 <domain>.<aggregate>，如 agri.report"),
]
IndicatorCode = Annotated[str, Field(min_length=1, max_length=64, description="指标代码")]
Revision = Annotated[int, Field(ge=1, description="第几次提交（首次提交为1，每次重报加1）")]
ExpectedVersion = Annotated[
    int, Field(ge=0, title="期望版本号", description="客户端看到的版本号（0 = 尚不存在），用于并发冲突检测")
]
Comment = Annotated[str, Field(max_length=500, title="审核意见", description="审核意见（可选，至多500字）")]
RequiredReason = Annotated[
    str,
    AfterValidator(_not_blank),
    Field(min_length=1, max_length=500, title="原因", description="原因说明（必填，至多500字）"),
]
IndicatorValue = Annotated[float | int | None, AfterValidator(_finite)]
"""An indicator value in an event (any finite number, or null = not filled)."""
NonNegativeValue = Annotated[float | int | None, AfterValidator(_non_negative)]
"""An indicator value in a command (non-negative finite number, or null = not filled)."""
FieldNotes = dict[IndicatorCode, Annotated[str, Field(max_length=500)]]
"""指标代码 -> 说明/批注."""
