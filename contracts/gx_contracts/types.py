"""Shared field types and base models for events and commands (Chinese validation messages).

Every command field is bounded: strings have a documented maximum length (``至多N字``), maps
and lists a maximum item count, numbers a range; the JSON schemas show the bounds."""

from __future__ import annotations

import math
from typing import Annotated, Any, ClassVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

from .divisions import is_valid_code

__all__ = [
    "EventPayload",
    "Command",
    "DivisionCode",
    "FormCode",
    "Period",
    "SubjectKind",
    "INDICATOR_CODE_PATTERN",
    "IndicatorCode",
    "Revision",
    "ExpectedVersion",
    "Comment",
    "RequiredReason",
    "IndicatorValue",
    "NonNegativeValue",
    "MAX_INDICATOR_VALUE",
    "FieldNotes",
    "FieldNote",
    "ReturnFieldNotes",
    "MAX_FIELD_NOTES",
    "FieldLabels",
    "MAX_FIELD_LABELS",
    "no_nul",
    "at_most",
    "indicator_map",
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


def _not_blank(v: str) -> str:
    if not v.strip():
        raise PydanticCustomError("not_blank", "不能为空")
    return v


def _no_nul(v: str) -> str:
    # PostgreSQL text cannot hold U+0000: refuse it here rather than fail at the database.
    if "\x00" in v:
        raise PydanticCustomError("nul_character", "不能包含空字符（\\u0000）")
    return v


no_nul = AfterValidator(_no_nul)
"""Refuses U+0000 in a string (Chinese message); put it in the ``Annotated`` of any text."""


def at_most(n: int, what: str) -> BeforeValidator:
    """Refuse a map or list of more than ``n`` items before validating any of them."""

    def check(v: Any) -> Any:
        if isinstance(v, (dict, list)) and len(v) > n:
            raise PydanticCustomError("too_many_items", "{what}至多{max}项，实际{actual}项",
                                      {"what": what, "max": n, "actual": len(v)})
        return v

    return BeforeValidator(check)


DivisionCode = Annotated[
    str,
    AfterValidator(_division_code),
    Field(min_length=12, max_length=12, pattern=r"^[1-9][0-9]{11}$",
          description="统计用区划代码（12位数字）", examples=["450103103201"]),
]
FormCode = Annotated[
    str,
    Field(max_length=32, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,31}$",
          description="报表表号，如 A301、LA402-1（至多32字符）"),
]
Period = Annotated[
    str,
    Field(
        max_length=13,
        pattern=r"^[0-9]{4}(-[0-9A-Za-z]{1,8})?$",
        description="报告期：年份，可带期别后缀，如 2026、2026-03、2026-Q1、2026-H1（至多13字符）",
    ),
]
SubjectKind = Annotated[
    str,
    Field(max_length=64, pattern=r"^[a-z]+\.[a-z_]+$",
          description="审核对象类别 <domain>.<aggregate>，如 agri.report（至多64字符）"),
]
INDICATOR_CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$"
IndicatorCode = Annotated[
    str,
    Field(min_length=1, max_length=64, pattern=INDICATOR_CODE_PATTERN,
          description="指标代码（字母、数字、下划线、点或连字符，至多64字符）"),
]
_MAX_INT = 2**31 - 1  # PostgreSQL integer
Revision = Annotated[int, Field(ge=1, le=_MAX_INT, description="第几次提交（首次提交为1，每次重报加1）")]
ExpectedVersion = Annotated[
    int,
    Field(ge=0, le=_MAX_INT, title="期望版本号",
          description="客户端看到的版本号（0 = 尚不存在），用于并发冲突检测"),
]
Comment = Annotated[
    str, no_nul, Field(max_length=500, title="审核意见", description="审核意见（可选，至多500字）")
]
RequiredReason = Annotated[
    str,
    AfterValidator(_not_blank),
    no_nul,
    Field(min_length=1, max_length=500, title="原因", description="原因说明（必填，至多500字）"),
]
IndicatorValue = Annotated[float | int | None, AfterValidator(_finite)]
"""An indicator value in an event (any finite number, or null = not filled)."""
MAX_INDICATOR_VALUE = 1e12


def _indicator_number(v: Any) -> float | int | None:
    """A JSON number (not a string, not a boolean), finite, 0..10¹², or null."""
    if v is None:
        return v
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise PydanticCustomError("number_type", "指标值必须是数值（JSON 数字）或 null")
    _finite(v)
    if v < 0:
        raise PydanticCustomError("non_negative", "指标值不能为负数")
    if v > MAX_INDICATOR_VALUE:
        raise PydanticCustomError("number_range", "指标值超出范围（0 至 10¹²）")
    return v


NonNegativeValue = Annotated[
    float | int | None,
    PlainValidator(_indicator_number),
    WithJsonSchema({"anyOf": [{"type": "number", "minimum": 0, "maximum": MAX_INDICATOR_VALUE},
                              {"type": "null"}],
                    "description": "指标值：JSON 数值，0 至 10¹²；null = 未填"}),
]
"""An indicator value in a command: a JSON number (no strings, no booleans), 0..10¹², or null."""
FieldNotes = dict[IndicatorCode, Annotated[str, Field(max_length=500)]]
"""指标代码 -> 说明/批注 (in events: as recorded)."""
# The largest return (200 notes of 200 字 on 64-character codes, about 135 KB in UTF-8) stays
# well inside the kernel's event size limit (GX_MAX_EVENT_BYTES, 256 KiB by default).
MAX_FIELD_NOTES = 200
MAX_FIELD_LABELS = 500


def indicator_map(value: Any, n: int, what: str) -> Any:
    """指标代码 -> ``value``, at most ``n`` entries (refused in Chinese before the items are read)."""
    return Annotated[dict[IndicatorCode, value], at_most(n, what),
                     Field(json_schema_extra={"maxProperties": n})]


FieldNote = Annotated[str, no_nul, Field(max_length=200, description="批注（至多200字）")]
ReturnFieldNotes = indicator_map(FieldNote, MAX_FIELD_NOTES, "指标批注")
"""指标代码 -> 批注 in a return: one note per indicator of the form, at most 200, each ≤ 200 字."""
FieldLabel = Annotated[str, no_nul, Field(max_length=100, description="指标名称（至多100字）")]
FieldLabels = indicator_map(FieldLabel, MAX_FIELD_LABELS, "指标名称")
"""指标代码 -> 中文指标名称 of the submitted form (at most 500)."""
