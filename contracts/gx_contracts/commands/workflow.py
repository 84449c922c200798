"""Review request bodies (审核)."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field
from pydantic_core import PydanticCustomError

from ..divisions import Level
from ..events.workflow import RETURN_REASONS
from ..types import Command, Comment, ExpectedVersion, RequiredReason, ReturnFieldNotes

__all__ = ["ApproveCase", "ReturnCase", "AcceptCase", "ReopenCase"]


def _known_reason(code: str) -> str:
    if code not in RETURN_REASONS:
        raise PydanticCustomError(
            "return_reason", "退回原因代码无效，可选：{codes}", {"codes": "、".join(RETURN_REASONS)}
        )
    return code


ReasonCode = Annotated[
    str,
    AfterValidator(_known_reason),
    Field(
        max_length=3,
        title="退回原因代码",
        description="退回原因代码（3字符）：" + "；".join(f"{k} {v}" for k, v in RETURN_REASONS.items()),
        json_schema_extra={"enum": list(RETURN_REASONS)},
    ),
]


class ApproveCase(Command):
    """审核通过，报送上一级."""

    expected_version: ExpectedVersion
    comment: Comment = ""


class ReturnCase(Command):
    """退回修改."""

    expected_version: ExpectedVersion
    reason_code: ReasonCode
    reason: RequiredReason = Field(title="退回原因", description="退回原因说明（必填，至多500字）")
    field_notes: ReturnFieldNotes = Field(
        default_factory=dict, title="指标批注",
        description="指标代码 -> 批注：键须是该报表的指标代码，每个指标至多一条批注（至多200字），至多200条")
    to_level: Level | None = Field(
        None, title="退回到", description="退回到审核链中的较低层级；为空表示退回报送人（村）"
    )


class AcceptCase(Command):
    """验收."""

    expected_version: ExpectedVersion
    comment: Comment = ""


class ReopenCase(Command):
    """重新打开已验收的案卷."""

    expected_version: ExpectedVersion
    reason: RequiredReason = Field(title="重新打开原因", description="重新打开原因（必填，至多500字）")
