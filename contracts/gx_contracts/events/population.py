"""Population change survey (人口变动调查, 附件4) events, topic ``population.events``.

Personal data never travels in clear: a person's identifying fields (姓名, 公民身份号码, 出生年月,
户口登记地详细地址) are sealed with that person's own data key (``gxp1:`` AES-GCM tokens) before
an event is written, and the payloads below refuse anything else in those fields. A subscriber
reads the de-identified rest (sex, ethnicity, age band, area codes, counts); erasing a person
destroys the key, so every copy of the ciphertext (event log, topics, backups) is unreadable.

Stream ids: ``household-<uuid>``, ``area-<uuid>``, ``exam-<survey year>``,
``enumerator-<uuid>``, ``access-<uuid>`` (the audit trail of one user's reads of person records).
"""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from pydantic import AfterValidator, AwareDatetime, Field
from pydantic_core import PydanticCustomError

from ..divisions import Level
from ..types import DivisionCode, EventPayload, FieldNotes, Revision
from .base import Submission, event

__all__ = [
    "SUBJECT_KIND", "IDENTIFYING_FIELDS", "ERASURE_REASONS", "REVEAL_REASONS", "SEALED_PREFIX",
    "AreaCode", "PersonEntry", "ExamQuestion",
    "ExamPublished", "EnumeratorTested", "AreaImported", "AreaAssigned", "AreaVerified",
    "HouseholdDraftSaved", "HouseholdReadBackConfirmed", "HouseholdHandedIn",
    "HouseholdRecheckReturned", "HouseholdSubmitted", "HouseholdReturned", "HouseholdAccepted",
    "PersonErased", "PersonRecordAccessed", "RosterEntry", "RosterSaved", "RosterReviewed",
    "RosterRemoval", "CHANGE_KINDS", "LEDGER_INDICATORS", "RECHECK_INDICATORS",
    "ChangeReported", "LedgerAdjusted", "AdminFiguresRecorded", "DiscrepancyExplained",
    "PesSampleDrawn", "PesTeamAssigned", "PesCheckRecorded", "PesDecision", "PesMatched",
    "AREA_CORRECTION_KIND", "MAP_CONTENT_TYPES", "PopulationReviewStep",
    "PopulationLifecycleSnapshot", "HouseholdReviewFollowed", "AreaProposal",
    "AreaCorrectionSubmitted", "AreaCorrectionReviewFollowed", "AreaCorrectionReturned",
    "AreaCorrectionAccepted", "AreaMapUploaded", "PersonalRecordErased",
    "AdoptedPerson", "HouseholdHistoryAdopted",
]

SUBJECT_KIND = "population.household"
"""``Submission.subject_kind`` of a household's registration."""

SEALED_PREFIX = "gxp1:"
IDENTIFYING_FIELDS = ("name", "id_number", "birth_year_month", "registered_address", "phone")
"""Person-form fields that identify someone: only ever sealed in an event."""

ERASURE_REASONS = {
    "E01": "本人依法申请删除个人信息",
    "E02": "重复登记",
    "E03": "不属于本次调查对象",
    "E04": "调查目的已实现（保存期限届满）",
    "E99": "其他依法应当删除的情形",
}
REVEAL_REASONS = {
    "V01": "核实公民身份号码",
    "V02": "复查核实（与行政记录比对）",
    "V03": "事后质量抽查比对",
    "V99": "其他统计工作需要",
}

AreaCode = Annotated[str, Field(min_length=15, max_length=15, pattern=r"^[1-9][0-9]{14}$",
                                description="调查小区代码：村级区划代码（12位）+ 小区序号（3位）")]
FieldCode = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[a-z][a-z0-9_]{0,39}$")]
FieldValue = Annotated[str | int | None, Field(union_mode="left_to_right")]


def _sealed_only(fields: dict[str, str | int | None]) -> dict[str, str | int | None]:
    for code in IDENTIFYING_FIELDS:
        v = fields.get(code)
        if v not in (None, "") and not (isinstance(v, str) and v.startswith(SEALED_PREFIX)):
            raise PydanticCustomError("not_sealed", "个人身份信息字段 {field} 必须加密后才能写入事件",
                                      {"field": code})
    for v in fields.values():
        if isinstance(v, str) and len(v) > 600:
            raise PydanticCustomError("too_long", "字段值过长")
    return fields


class PersonEntry(EventPayload):
    """一人的个人表：identifying fields sealed with the person's data key, the rest in codes."""

    person_id: UUID
    fields: Annotated[dict[FieldCode, FieldValue], Field(max_length=40),
                      AfterValidator(_sealed_only)] = Field(
        description="字段代码 -> 值；姓名、公民身份号码、出生年月、详细地址为密文（gxp1:）")
    age_band: str | None = Field(None, max_length=16, description="标准时点年龄组（去标识化）")


class ExamQuestion(EventPayload):
    """培训考试题（题库数据）."""

    id: str = Field(min_length=1, max_length=16, pattern=r"^[A-Za-z0-9_\-]+$")
    text: str = Field(min_length=1, max_length=300)
    options: list[Annotated[str, Field(min_length=1, max_length=120)]] = Field(
        min_length=2, max_length=8)
    answer: int = Field(ge=0, le=7, description="正确选项的序号（从0起）")


@event("population.exam.published", 1)
class ExamPublished(EventPayload):
    """调查员培训考试（题库与合格线）已发布，按调查年度."""

    survey_year: int = Field(ge=2020, le=2100)
    pass_mark: int = Field(ge=1, le=100, description="合格线（百分制）")
    questions: list[ExamQuestion] = Field(min_length=1, max_length=200)


@event("population.enumerator.tested", 1)
class EnumeratorTested(EventPayload):
    """调查员参加了培训考试；``passed`` = 取得本年度调查员资格."""

    user_id: str = Field(max_length=64)
    username: str = Field(max_length=64)
    survey_year: int = Field(ge=2020, le=2100)
    score: int = Field(ge=0, le=100)
    pass_mark: int = Field(ge=1, le=100)
    passed: bool


@event("population.area.imported", 1)
class AreaImported(EventPayload):
    """调查小区已下发（自治区导入当年抽中的调查小区）."""

    area_id: UUID
    survey_year: int = Field(ge=2020, le=2100)
    area_code: AreaCode
    village_code: DivisionCode
    name: str = Field(min_length=1, max_length=100)
    urban_rural_code: str = Field(pattern=r"^[1-2][1-3]0$", description="城乡分类代码（111…220）")


@event("population.area.assigned", 1)
class AreaAssigned(EventPayload):
    """调查员已分配到调查小区（按登录名）."""

    area_id: UUID
    username: str = Field(min_length=1, max_length=64)
    assigned: bool = Field(True, description="false = 取消分配")


@event("population.area.verified", 1)
class AreaVerified(EventPayload):
    """调查小区已核实：边界、所含建筑物（编号清单）、名称、代码、城乡属性."""

    area_id: UUID
    boundary: str = Field(min_length=1, max_length=1000)
    buildings: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(max_length=2000)
    name: str = Field(min_length=1, max_length=100)
    urban_rural_code: str = Field(pattern=r"^[1-2][1-3]0$")
    corrected: bool = Field(description="名称或城乡属性与下发不同（需上报审批）")


def _sealed_text(v: str) -> str:
    if not v.startswith(SEALED_PREFIX):
        raise PydanticCustomError("not_sealed", "户主姓名必须加密后才能写入事件")
    return v


class RosterEntry(EventPayload):
    """户主姓名底册的一行：建筑物、住房、户主姓名（密文）、户人数、户别."""

    entry_id: UUID
    building_no: str = Field(min_length=1, max_length=20)
    dwelling_no: str = Field(min_length=1, max_length=20)
    head_name: Annotated[str, Field(max_length=600), AfterValidator(_sealed_text)]
    household_size: int = Field(ge=1, le=999)
    household_type: Literal["1", "2"] = Field(description="1 家庭户，2 集体户")


@event("population.roster.saved", 1)
class RosterSaved(EventPayload):
    """户主姓名底册已保存（摸底）."""

    area_id: UUID
    entries: list[RosterEntry] = Field(max_length=2000)


class RosterRemoval(EventPayload):
    entry_id: UUID
    reason: str = Field(min_length=1, max_length=200)


@event("population.roster.reviewed", 1)
class RosterReviewed(EventPayload):
    """底册复议已记录：参加人员（职务）、增补与删除的户及原因."""

    area_id: UUID
    held_on: str = Field(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
    participants: list[Annotated[str, Field(min_length=1, max_length=40)]] = Field(
        min_length=1, max_length=30, description="参加人员（职务或身份，如 村委会主任、居民代表）")
    added: list[UUID] = Field(default_factory=list, max_length=2000, description="增补的底册行")
    removed: list[RosterRemoval] = Field(default_factory=list, max_length=2000)
    note: str = Field("", max_length=500)


@event("population.household.draft_saved", 1)
class HouseholdDraftSaved(EventPayload):
    """住户表（户表与个人表）已保存；个人身份信息为密文."""

    household_id: UUID
    area_id: UUID
    area_code: AreaCode
    village_code: DivisionCode
    survey_year: int = Field(ge=2020, le=2100)
    form_version: str = Field(max_length=16)
    household: Annotated[dict[FieldCode, FieldValue], Field(max_length=40)]
    persons: list[PersonEntry] = Field(max_length=100)
    enumerator: str = Field(max_length=64, description="登记调查员用户ID")


@event("population.household.read_back_confirmed", 1)
class HouseholdReadBackConfirmed(EventPayload):
    """回读确认：调查员向被调查人逐项读出登记内容，被调查人确认无误."""

    household_id: UUID
    draft_version: int = Field(ge=1, description="确认的是哪一版登记内容（住户流的版本号）")
    confirmed_at: AwareDatetime = Field(
        description="确认时间：手机记录的时间（离线时早于交表）；旧手机未发送时为服务器收到的时间")
    enumerator: str = Field(max_length=64)
    device: str | None = Field(None, max_length=128)
    respondent: Literal["head", "member", "other"] = Field(
        description="确认人：户主本人、本户其他成员、其他知情人")
    received_at: AwareDatetime | None = Field(None, description="服务器收到确认的时间")
    readback_digest: str | None = Field(
        None, pattern=r"^[0-9a-f]{64}$",
        description="手机上回读文字（身份号码遮蔽）的 SHA-256，服务器已核对与登记内容一致；"
                    "以服务密钥 HMAC 后记录（可复核，不能据以猜测内容）")


@event("population.household.handed_in", 1)
class HouseholdHandedIn(EventPayload):
    """调查员已交表，待村级复核."""

    household_id: UUID
    revision: Revision
    person_count: int = Field(ge=0)


@event("population.household.recheck_returned", 1)
class HouseholdRecheckReturned(EventPayload):
    """村级复核未通过，退回调查员修改."""

    household_id: UUID
    reason: str = Field(min_length=1, max_length=500)
    field_notes: FieldNotes = Field(default_factory=dict)


@event("population.household.submitted", 1)
class HouseholdSubmitted(EventPayload):
    """住户调查表已提交（村级复核通过）；``submission`` opens the review case."""

    household_id: UUID
    survey_area_code: str = Field(description="调查小区代码")
    village_code: DivisionCode
    person_count: int = Field(ge=0, description="登记人数")
    revision: Revision
    submission: Submission
    survey_year: int | None = Field(None, ge=2020, le=2100)
    rechecked_by: str | None = Field(None, max_length=64, description="村级复核人用户ID")


@event("population.household.returned", 1)
class HouseholdReturned(EventPayload):
    """住户表已退回村级修改（reaction to ``workflow.case.returned``）."""

    household_id: UUID
    case_id: UUID
    revision: Revision
    from_level: Level
    reason_code: str = Field(pattern=r"^R[0-9]{2}$")
    reason: str = Field(max_length=1000)
    field_notes: FieldNotes = Field(default_factory=dict)


@event("population.household.accepted", 1)
class HouseholdAccepted(EventPayload):
    """住户表已验收（reaction to ``workflow.case.accepted``）."""

    household_id: UUID
    case_id: UUID
    revision: Revision
    level: Level
    final: bool = True
    next_level: Level | None = None


@event("population.person.erased", 1)
class PersonErased(EventPayload):
    """个人信息已依法删除：数据密钥已销毁，所有密文永久不可读；计数保留."""

    household_id: UUID
    person_id: UUID
    reason_code: str = Field(pattern=r"^E[0-9]{2}$", description="删除原因代码，见 ERASURE_REASONS")
    erased_by: str = Field(max_length=64)


@event("population.person_record.accessed", 1)
class PersonRecordAccessed(EventPayload):
    """个人信息访问审计：谁、何时、为何、从哪台设备读取了哪些人的个人表."""

    household_id: UUID | None = Field(None, description="住户（读取底册时为空）")
    area_id: UUID | None = Field(None, description="调查小区（读取户主姓名底册时）")
    village_code: DivisionCode
    person_ids: list[UUID] = Field(max_length=2000)
    purpose: Literal["view", "reveal_id_number", "view_roster"]
    reason_code: str | None = Field(None, pattern=r"^V[0-9]{2}$")
    reader: str = Field(max_length=64)
    reader_role: str = Field(max_length=32)
    reader_division: str = Field(max_length=12)
    device: str | None = Field(None, max_length=128)


# The ledger, re-check and PES events live in their own module (imported last: it uses
# AreaCode and PersonEntry from above).
from .population_review import (  # noqa: E402
    AREA_CORRECTION_KIND,
    MAP_CONTENT_TYPES,
    AdoptedPerson,
    AreaCorrectionAccepted,
    AreaCorrectionReturned,
    AreaCorrectionReviewFollowed,
    AreaCorrectionSubmitted,
    AreaMapUploaded,
    AreaProposal,
    HouseholdHistoryAdopted,
    HouseholdReviewFollowed,
    PersonalRecordErased,
    PopulationLifecycleSnapshot,
    PopulationReviewStep,
)
from .population_survey import (  # noqa: E402
    CHANGE_KINDS,
    LEDGER_INDICATORS,
    RECHECK_INDICATORS,
    AdminFiguresRecorded,
    ChangeReported,
    DiscrepancyExplained,
    LedgerAdjusted,
    PesCheckRecorded,
    PesDecision,
    PesMatched,
    PesSampleDrawn,
    PesTeamAssigned,
)
