"""Review chain (审核流程) events, topic ``workflow.events``; stream id ``case-<uuid>``."""

from __future__ import annotations

from uuid import UUID

from pydantic import AwareDatetime, Field

from ..divisions import Level
from ..types import (
    Comment,
    DivisionCode,
    EventPayload,
    FieldLabels,
    FieldNotes,
    Revision,
    SubjectKind,
)
from .base import Submission, event

__all__ = [
    "RETURN_REASONS",
    "CaseOpened",
    "CaseApproved",
    "CaseReturned",
    "CaseResubmitted",
    "CaseAccepted",
    "CaseReopened",
    "CaseOverdue",
]

RETURN_REASONS: dict[str, str] = {
    "R01": "数据填报错误",
    "R02": "数据不完整",
    "R03": "逻辑关系不符",
    "R04": "与上期差异过大未说明",
    "R05": "超出管辖范围",
    "R99": "其他",
}
"""退回原因目录: code -> Chinese label. Add codes, never reuse or remove one."""


class _CaseRef(EventPayload):
    case_id: UUID
    subject_kind: SubjectKind
    subject_id: str = Field(description="审核对象ID")
    division_code: DivisionCode = Field(description="报送单位所在区划代码")


@event("workflow.case.opened", 1)
class CaseOpened(EventPayload):
    """审核案卷已建立（first submission）; ``level`` is the first reviewing level."""

    case_id: UUID
    submission: Submission
    chain: list[Level] = Field(description="审核链（自下而上），如 [township, county, region]")
    level: Level = Field(description="当前审核层级")
    deadline: AwareDatetime | None = Field(None, description="当前层级审核截止时间")
    final_level: Level | None = Field(None, description="最终验收层级（空 = 审核链最高层）")
    early_accept_levels: list[Level] = Field(
        default_factory=list, description="可提前验收的层级（如农业：乡镇数据验收），之后仍报上级确认")
    deadline_seconds: dict[Level, int] = Field(
        default_factory=dict, description="各层级审核时限（秒），案卷建立时从配置复制")
    chain_version: int | None = Field(None, description="审核链配置版本")
    watch_levels: list[Level] = Field(
        default_factory=list,
        description="同步监测的层级（如农业：县、市），在审核中或提前验收后可退回；空 = 无")
    chain_profile: str | None = Field(None, description="审核链配置方案（如 standard、strict）")


@event("workflow.case.approved", 1)
class CaseApproved(_CaseRef):
    """审核通过，报送上一级."""

    revision: Revision
    from_level: Level
    to_level: Level
    comment: Comment = ""
    deadline: AwareDatetime | None = Field(None, description="新层级审核截止时间")


@event("workflow.case.returned", 1)
class CaseReturned(_CaseRef):
    """已退回：to a lower level of the chain, or ``village`` = back to the submitter."""

    revision: Revision
    from_level: Level
    to_level: Level = Field(description="退回到的层级；village = 报送人")
    reason_code: str = Field(pattern=r"^R[0-9]{2}$", description="退回原因代码，见 RETURN_REASONS")
    reason: str = Field(description="退回原因说明")
    field_notes: FieldNotes = Field(default_factory=dict, description="指标代码 -> 批注")
    deadline: AwareDatetime | None = Field(None, description="退回到审核层级时该层级的截止时间")


@event("workflow.case.resubmitted", 1)
class CaseResubmitted(_CaseRef):
    """修改后重新报送，从审核链底层重新开始."""

    revision: Revision
    level: Level = Field(description="重新开始审核的层级")
    deadline: AwareDatetime | None = Field(None, description="该层级审核截止时间")
    field_labels: FieldLabels | None = Field(
        None, description="重报的报表指标（指标代码 -> 中文名称）；空 = 与原报送相同（较早的事件）")


@event("workflow.case.accepted", 1)
class CaseAccepted(_CaseRef):
    """已验收：``final`` = 最终确认（如自治区审核确认）；否则提前验收（如乡镇数据验收），报上级确认."""

    revision: Revision
    level: Level = Field(description="验收层级")
    final: bool = Field(True, description="是否最终验收；false = 提前验收（数据验收），仍报上级确认")
    next_level: Level | None = Field(None, description="提前验收后报送到的上级层级")
    comment: Comment = ""
    deadline: AwareDatetime | None = Field(None, description="提前验收后上级的截止时间")


@event("workflow.case.reopened", 1)
class CaseReopened(_CaseRef):
    """已验收的案卷重新打开."""

    revision: Revision
    level: Level = Field(description="重新打开后所在层级")
    reason: str = Field(description="重新打开原因")
    deadline: AwareDatetime | None = Field(None, description="重新打开后的审核截止时间")


@event("workflow.case.overdue", 1)
class CaseOverdue(_CaseRef):
    """当前层级审核已超期."""

    level: Level
    deadline: AwareDatetime
