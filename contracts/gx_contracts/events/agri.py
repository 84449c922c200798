"""Agriculture (农业统计) events, topic ``agri.events``; stream ids ``task-<uuid>``, ``report-<uuid>``."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AwareDatetime, Field

from ..divisions import Level
from ..types import (
    DivisionCode,
    EventPayload,
    FieldNotes,
    FormCode,
    IndicatorCode,
    IndicatorValue,
    Period,
    Revision,
)
from .base import Submission, event

__all__ = [
    "SUBJECT_KIND",
    "TaskPublished",
    "ReportDraftSaved",
    "ReportSubmitted",
    "ReportReturned",
    "ReportAccepted",
    "ReviewStep",
    "ReportStanding",
    "ReportReviewFollowed",
    "ReportHistoryAdopted",
    "MAX_INDICATORS",
]

SUBJECT_KIND = "agri.report"
"""``Submission.subject_kind`` of an agricultural report."""

MAX_INDICATORS = 200
"""At most this many indicator keys in any values/explanations map (a form has a few dozen)."""

Values = Annotated[dict[IndicatorCode, IndicatorValue], Field(max_length=MAX_INDICATORS)]
Explanations = Annotated[dict[IndicatorCode, Annotated[str, Field(max_length=500)]],
                         Field(max_length=MAX_INDICATORS)]


@event("agri.task.published", 1)
class TaskPublished(EventPayload):
    """报表任务已发布：every village under ``scope_division`` gets a report task."""

    task_id: UUID
    form_code: FormCode
    form_version: int = Field(ge=1, description="报表制度版本")
    period: Period
    title: str = Field(description="任务标题")
    scope_division: DivisionCode = Field(description="任务范围（区划代码），其下每个村一份报表")
    deadline: AwareDatetime = Field(description="截止时间")
    published_by: str = Field(description="发布人用户ID")


@event("agri.report.draft_saved", 1)
class ReportDraftSaved(EventPayload):
    """报表草稿已保存."""

    report_id: UUID
    task_id: UUID
    village_code: DivisionCode
    values: Values = Field(description="指标代码 -> 指标值（null = 未填）")
    explanations: Explanations = Field(default_factory=dict, description="指标代码 -> 审核警告的说明")
    revision: Revision


@event("agri.report.submitted", 1)
class ReportSubmitted(EventPayload):
    """报表已提交（机内审核通过）；``submission`` opens or resubmits the review case."""

    report_id: UUID
    task_id: UUID
    form_code: FormCode
    form_version: int = Field(ge=1)
    period: Period
    village_code: DivisionCode
    values: Values
    explanations: Explanations = Field(default_factory=dict)
    revision: Revision
    submission: Submission
    note_answers: Explanations = Field(
        default_factory=dict,
        description="对上次退回批注的答复（核实无误的说明）：指标代码 -> 说明，仅含未修改数值的批注指标")
    changed: list[IndicatorCode] = Field(
        default_factory=list, max_length=MAX_INDICATORS,
        description="与上次提交相比数值有变化的指标代码（重新报送时）")


@event("agri.report.returned", 1)
class ReportReturned(EventPayload):
    """报表已退回村级修改（reaction to ``workflow.case.returned`` to the submitter）."""

    report_id: UUID
    case_id: UUID
    revision: Revision
    from_level: Level = Field(description="退回的审核层级")
    reason_code: str = Field(pattern=r"^R[0-9]{2}$", description="退回原因代码，见 RETURN_REASONS")
    reason: str = Field(description="退回原因说明")
    field_notes: FieldNotes = Field(default_factory=dict, description="指标代码 -> 批注")


@event("agri.report.accepted", 1)
class ReportAccepted(EventPayload):
    """报表已验收 (reaction to ``workflow.case.accepted``).

    ``final=false``: 数据验收 at a lower level (e.g. the township); the report is read-only and
    ``next_level`` still confirms it, and a return meanwhile reopens it.
    ``final=true``: 最终确认 (e.g. 自治区统计局审核确认); events before the field were all final."""

    report_id: UUID
    case_id: UUID
    revision: Revision
    level: Level = Field(description="验收（或确认）层级")
    final: bool = Field(True, description="true = 最终确认（已确认）；false = 数据验收（已验收，待上级确认）")
    next_level: Level | None = Field(None, description="数据验收后报送确认的层级（如自治区）")
    accepted_level: Level | None = Field(None, description="最终确认时：此前数据验收的层级（如有）")


class ReviewStep(EventPayload):
    """审核动态：one review-chain event about the report, as agri received it (its history)."""

    event_id: UUID = Field(description="审核事件ID（workflow 事件的 id）")
    type: str = Field(pattern=r"^workflow\.case\.[a-z_]{1,40}$", description="审核事件类型")
    schema_version: int = Field(1, ge=1, description="审核事件的 schema_version（解码时据此升级）")
    data: dict[str, Any] = Field(description="审核事件的数据（除报表指标名称 field_labels 外原样保存）")
    metadata: dict[str, Any] = Field(default_factory=dict, description="审核事件的元数据（谁、角色、区划、设备）")
    at: AwareDatetime = Field(description="审核事件的时间")


class ReportStanding(EventPayload):
    """报表的审核状态 (the shared submission lifecycle's state of the report)."""

    status: Literal["not_started", "draft", "submitted", "returned", "accepted", "confirmed"]
    revision: int = Field(ge=0, description="已提交次数（审核中的为第几次）")
    review_level: Level | None = Field(None, description="当前审核层级")
    approved_rank: int = Field(0, ge=0, le=5, description="已审核通过的最高层级序号")
    case_id: UUID | None = Field(None, description="审核案卷ID")
    accepted_level: Level | None = Field(None, description="数据验收层级")
    confirmed_level: Level | None = Field(None, description="最终确认层级")
    returned_from: Level | None = Field(None, description="上次退回村级的审核层级")


@event("agri.report.review_followed", 1)
class ReportReviewFollowed(EventPayload):
    """报表已跟随审核动态: the report took in one review-chain event (``review``, kept for its
    history) and, if that moved it, its lifecycle state after (``moved``; None = unchanged, e.g.
    an overdue notice or an event about an older revision). Raised before the returned/accepted
    event the same review event may cause; agri's read models rebuild from agri's stream alone."""

    report_id: UUID
    review: ReviewStep
    moved: ReportStanding | None = Field(None, description="跟随后的审核状态（无变化为 null）")


@event("agri.report.history_adopted", 1)
class ReportHistoryAdopted(EventPayload):
    """报表审核历史已并入事件流: written once by migration 0002 for reports from before
    ``review_followed`` existed: their lifecycle state and review history then lived only in the
    read models; this event carries both, so a rebuild loses neither."""

    report_id: UUID
    standing: ReportStanding
    review: list[ReviewStep] = Field(default_factory=list, description="此前收到的审核动态，按时间")
