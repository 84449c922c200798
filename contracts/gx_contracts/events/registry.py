"""Basic-unit register (基本单位名录库) events, topic ``registry.events``; stream ``unit-<uuid>``.

Minimal for now; fields will be added (readers ignore unknown fields).
"""

from __future__ import annotations

from enum import Enum
from typing import Any
from uuid import UUID

from pydantic import Field

from ..types import DivisionCode, EventPayload
from .base import event

__all__ = ["UnitKind", "UnitRegistered", "UnitChanged", "UnitTransferredOut"]


class UnitKind(str, Enum):
    """单位类别：法人单位 / 产业活动单位."""

    legal_person = "legal_person"
    activity_unit = "activity_unit"


@event("registry.unit.registered", 1)
class UnitRegistered(EventPayload):
    """单位已入库."""

    unit_id: UUID
    unit_kind: UnitKind
    uscc: str | None = Field(None, description="统一社会信用代码（18位）")
    name: str = Field(description="单位详细名称")
    division_code: DivisionCode = Field(description="单位所在区划代码")


@event("registry.unit.changed", 1)
class UnitChanged(EventPayload):
    """单位信息已变更."""

    unit_id: UUID
    division_code: DivisionCode
    changes: dict[str, Any] = Field(description="字段名 -> 新值")


@event("registry.unit.transferred_out", 1)
class UnitTransferredOut(EventPayload):
    """单位已迁出本辖区."""

    unit_id: UUID
    from_division: DivisionCode
    to_division: DivisionCode | None = Field(None, description="迁入区划（未知则为空）")
    reason: str = ""
