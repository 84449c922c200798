"""Population events of the review chain and of the survey areas' corrections, map and the
erasure of personal records beside the person forms (调查小区核实更正的逐级审批, 小区图,
底册/变动报告/抽查人员的依法删除), topic ``population.events``. Import them from
``gx_contracts.events.population``, which re-exports them.

A household and an area correction follow the review chain through the shared lifecycle
(``gx_contracts.lifecycle``); every review event they follow is recorded with the lifecycle
state it moved to (``*.review_followed``), so their read models are rebuilt from the
population stream alone.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AwareDatetime, Field

from ..divisions import Level
from ..types import DivisionCode, EventPayload, FieldNotes, Revision
from .base import Submission, event
from .population import AreaCode, PersonEntry

AREA_CORRECTION_KIND = "population.area_correction"
"""``Submission.subject_kind`` of a sample area's correction (调查小区核实更正)."""

MAP_CONTENT_TYPES = ("image/png", "image/jpeg")


class PopulationReviewStep(EventPayload):
    """审核记录: the review-chain event followed, as people read it."""

    event_id: UUID
    type: Annotated[str, Field(pattern=r"^workflow\.case\.[a-z_]{1,30}$")]
    at: AwareDatetime
    actor_name: str | None = Field(None, max_length=100)
    level: Level | None = None
    comment: str | None = Field(None, max_length=1000)


class PopulationLifecycleSnapshot(EventPayload):
    """The submission's lifecycle state after a review step (gx_contracts.lifecycle)."""

    status: Annotated[str, Field(pattern=r"^[a-z_]{1,20}$")]
    revision: int = Field(ge=0)
    review_level: Level | None = None
    approved_rank: int = Field(0, ge=0, le=10)
    case_id: UUID | None = None
    accepted_level: Level | None = None
    confirmed_level: Level | None = None
    returned_from: Level | None = None


@event("population.household.review_followed", 1)
class HouseholdReviewFollowed(EventPayload):
    """住户表跟随审核链：审核记录，及生命周期状态（如有变化）；read models are rebuilt from it."""

    household_id: UUID
    review: PopulationReviewStep
    moved: PopulationLifecycleSnapshot | None = None


class AdoptedPerson(PersonEntry):
    """一人的个人表，按并入时的行（已删除的人员只余代码与计数）."""

    position: int = Field(ge=0, le=999)
    erased: bool = False
    erasure_reason: str | None = Field(None, pattern=r"^E[0-9]{2}$")


@event("population.household.history_adopted", 1)
class HouseholdHistoryAdopted(EventPayload):
    """住户表并入事件流：written once by migration 0005 for households from before
    ``review_followed`` existed, whose lifecycle state (审核层级、案卷、验收) lived only in the read
    model; carries the row as it stood (identifying fields sealed), so a rebuild loses nothing."""

    household_id: UUID
    area_id: UUID
    area_code: AreaCode
    village_code: DivisionCode
    survey_year: int = Field(ge=2020, le=2100)
    household_no: str = Field(min_length=1, max_length=20)
    form_version: str = Field(max_length=16)
    enumerator: str = Field(max_length=64)
    household: dict[str, Any] = Field(default_factory=dict)
    findings: list[dict[str, Any]] = Field(default_factory=list, max_length=500)
    persons: list[AdoptedPerson] = Field(default_factory=list, max_length=100)
    stage: Literal["registering", "handed_in", "in_chain"]
    standing: PopulationLifecycleSnapshot
    draft_version: int = Field(ge=0)
    readback_version: int | None = Field(None, ge=1)
    readback: dict[str, Any] | None = None
    return_reason: str | None = Field(None, max_length=1000)
    return_from_level: Level | None = None
    field_notes: FieldNotes = Field(default_factory=dict)


class AreaProposal(EventPayload):
    """调查小区核实结果：边界、建筑物清单、名称、代码、城乡属性."""

    boundary: str = Field(min_length=1, max_length=1000)
    buildings: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(max_length=2000)
    name: str = Field(min_length=1, max_length=100)
    area_code: AreaCode
    urban_rural_code: str = Field(pattern=r"^[1-2][1-3]0$")


@event("population.area_correction.submitted", 1)
class AreaCorrectionSubmitted(EventPayload):
    """调查小区核实更正已上报审批（村 → 乡镇 → 县，按审核链配置）；核实数据在验收后才更改."""

    area_id: UUID
    correction_id: UUID
    village_code: DivisionCode
    revision: Revision
    proposal: AreaProposal
    changed: list[Annotated[str, Field(max_length=20)]] = Field(
        max_length=5, description="更正的项目：boundary, buildings, name, area_code, urban_rural_code")
    submission: Submission


@event("population.area_correction.review_followed", 1)
class AreaCorrectionReviewFollowed(EventPayload):
    """调查小区更正跟随审核链：审核记录，及生命周期状态（如有变化）."""

    area_id: UUID
    correction_id: UUID
    review: PopulationReviewStep
    moved: PopulationLifecycleSnapshot | None = None


@event("population.area_correction.returned", 1)
class AreaCorrectionReturned(EventPayload):
    """调查小区更正已退回村级修改."""

    area_id: UUID
    correction_id: UUID
    case_id: UUID
    revision: Revision
    from_level: Level
    reason_code: str = Field(pattern=r"^R[0-9]{2}$")
    reason: str = Field(max_length=1000)
    field_notes: FieldNotes = Field(default_factory=dict)


@event("population.area_correction.accepted", 1)
class AreaCorrectionAccepted(EventPayload):
    """调查小区更正已验收；``final`` 时核实数据改为 ``applied``."""

    area_id: UUID
    correction_id: UUID
    case_id: UUID
    revision: Revision
    level: Level
    final: bool
    applied: AreaProposal | None = None


@event("population.area.map_uploaded", 1)
class AreaMapUploaded(EventPayload):
    """小区图（手绘草图）已上传：图片本身按 SHA-256 存于本服务数据库，事件只记摘要."""

    area_id: UUID
    map_id: UUID
    content_type: Literal["image/png", "image/jpeg"]
    size: int = Field(ge=1, le=10 * 1024 * 1024)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    width: int | None = Field(None, ge=1, le=100_000)
    height: int | None = Field(None, ge=1, le=100_000)


@event("population.personal_record.erased", 1)
class PersonalRecordErased(EventPayload):
    """与被删除人员有关的其他个人记录（户主姓名底册行、人口变动报告、事后抽查人员）已删除：
    其数据密钥已销毁；行、计数保留."""

    record_kind: Literal["roster_entry", "change_report", "pes_check"]
    record_id: UUID
    household_id: UUID
    person_id: UUID
    area_id: UUID | None = None
    sample_id: UUID | None = None
    village_code: DivisionCode
    reason_code: str = Field(pattern=r"^E[0-9]{2}$")
    erased_by: str = Field(max_length=64)
