"""The 基本单位情况表's events (stream ``unitform-<uuid>``), topic ``registry.events``: the
form's drafts and submission, its review steps and the lifecycle state each moved it to.
Re-exported by ``gx_contracts.events.registry``."""

from __future__ import annotations

from typing import Any, Literal
from uuid import UUID

from pydantic import AwareDatetime, Field

from ..divisions import Level
from ..types import DivisionCode, EventPayload, Revision
from .base import Submission, event

__all__ = [
    'Location',
    'UnitFormDraftSaved',
    'UnitFormSubmitted',
    'UnitFormReturned',
    'UnitFormAccepted',
    'UnitFormOpened',
    'UnitFormReviewStep',
    'UnitFormStanding',
    'UnitFormReviewFollowed',
    'UnitFormHistoryAdopted',
]

Text = str  # bounded by the command that produced it; events are written by the service only


class Location(EventPayload):
    """地理位置定位（浏览器 Geolocation API）."""

    latitude: float
    longitude: float
    accuracy_m: float
    taken_at: str


@event("registry.unit_form.draft_saved", 1)
class UnitFormDraftSaved(EventPayload):
    """基本单位情况表草稿已保存."""

    form_id: UUID
    unit_id: UUID | None = None
    village_code: DivisionCode
    form_version: int
    values: dict[str, Any]
    explanations: dict[str, str] = Field(default_factory=dict)
    location: Location | None = None
    revision: Revision


@event("registry.unit_form.submitted", 1)
class UnitFormSubmitted(EventPayload):
    """基本单位情况表已上报；``submission`` opens the review case (village → township → county)."""

    form_id: UUID
    unit_id: UUID | None = None
    task_id: UUID | None = None
    village_code: DivisionCode
    form_version: int
    values: dict[str, Any]
    explanations: dict[str, str] = Field(default_factory=dict)
    location: Location | None = None
    warnings: list[dict[str, str]] = Field(default_factory=list)
    revision: Revision
    submission: Submission


@event("registry.unit_form.returned", 1)
class UnitFormReturned(EventPayload):
    """基本单位情况表已退回协管员重新核实."""

    form_id: UUID
    case_id: UUID
    revision: Revision
    from_level: Level
    reason_code: str
    reason: str


@event("registry.unit_form.accepted", 1)
class UnitFormAccepted(EventPayload):
    """基本单位情况表已验收."""

    form_id: UUID
    case_id: UUID
    revision: Revision
    level: Level
    final: bool = True


@event("registry.unit_form.opened", 1)
class UnitFormOpened(EventPayload):
    """基本单位情况表已打开：为任务单位、定期确认有变更的单位（预填名录库信息），或实地发现的新单位."""

    form_id: UUID
    unit_id: UUID | None = None
    task_id: UUID | None = Field(None, description="任务底册中的任务")
    round_id: UUID | None = Field(None, description="定期确认轮次（确认为有变更时）")
    village_code: DivisionCode
    form_version: int
    values: dict[str, Any] = Field(default_factory=dict, description="预填的字段值")


class UnitFormReviewStep(EventPayload):
    """审核动态：the review-chain event the form followed, as people read it."""

    event_id: UUID = Field(description="审核事件ID（workflow 事件的 id）")
    type: str = Field(pattern=r"^workflow\.case\.[a-z_]{1,40}$", description="审核事件类型")
    at: AwareDatetime = Field(description="审核事件的时间")
    actor_name: str | None = Field(None, max_length=200)
    level: Level | None = None
    comment: str | None = Field(None, max_length=1000)


class UnitFormStanding(EventPayload):
    """基本单位情况表的审核状态 (the shared submission lifecycle's state)."""

    status: Literal["not_started", "draft", "submitted", "returned", "accepted", "confirmed"]
    revision: int = Field(ge=0, description="已上报次数")
    review_level: Level | None = Field(None, description="当前审核层级")
    approved_rank: int = Field(0, ge=0, le=10, description="已审核通过的最高层级序号")
    case_id: UUID | None = Field(None, description="审核案卷ID")
    accepted_level: Level | None = None
    confirmed_level: Level | None = None
    returned_from: Level | None = Field(None, description="上次退回协管员的审核层级")


@event("registry.unit_form.review_followed", 1)
class UnitFormReviewFollowed(EventPayload):
    """基本单位情况表跟随审核链：审核动态，及其后的审核状态（无变化为 null）；raised before the
    returned/accepted event the same review event may cause; the form's read model rebuilds
    from the registry's stream alone."""

    form_id: UUID
    review: UnitFormReviewStep
    moved: UnitFormStanding | None = None


@event("registry.unit_form.history_adopted", 1)
class UnitFormHistoryAdopted(EventPayload):
    """基本单位情况表并入事件流: written once by migration 0003 for forms from before
    ``opened``/``review_followed`` existed, whose lifecycle state lived only in the read model;
    carries the row as it stood, so a rebuild loses nothing."""

    form_id: UUID
    unit_id: UUID | None = None
    task_id: UUID | None = None
    village_code: DivisionCode
    form_version: int
    values: dict[str, Any] = Field(default_factory=dict)
    explanations: dict[str, str] = Field(default_factory=dict)
    location: Location | None = None
    standing: UnitFormStanding
    return_reason: str | None = None
