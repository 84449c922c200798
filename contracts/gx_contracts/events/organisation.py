"""Organisation of the work (统计工作组织) events, topic ``organisation.events``.

Offices and their establishment (编制), people's appointments with their staffing mode, the
reform of 桂统字〔2019〕52号 (scope, phases, plans, leading groups), progress reports (a
submission that climbs county → city → region), subsidy rates and workloads, training and the
standardisation assessment. Stream ids: ``office-``, ``appointment-``, ``reform-``, ``plan-``,
``group-``, ``progress-``, ``rates-``, ``workload-``, ``training-``, ``assessment-<uuid>``.
No ID numbers or phone numbers in events: names and posts of statistics staff only.
"""

from __future__ import annotations

from datetime import date
from enum import Enum
from typing import Annotated
from uuid import UUID

from pydantic import AwareDatetime, Field

from ..divisions import Level
from ..types import DivisionCode, EventPayload, FieldNotes, Revision, no_nul
from .base import Submission, event

__all__ = [
    "SUBJECT_KIND", "OfficeKind", "PostRole", "StaffingMode", "ScopeBasis", "GroupRole",
    "OfficeRecorded", "AppointmentRecorded", "AppointmentEnded", "Phase", "ScopedCounty",
    "ReformScoped", "ReformCountyChosen", "PlanFiled", "GroupMember", "LeadingGroupRecorded",
    "Attachment", "ProgressReportDraftSaved", "ProgressReportSubmitted",
    "ProgressReportReturned", "ProgressReportAccepted", "ProgressReportReviewStep", "LifecycleSnapshot",
    "ProgressReportReviewFollowed", "SubsidyRate", "SubsidyRatesSet",
    "WorkloadRecorded", "Attendance", "TrainingRecorded", "AssessmentScored",
    "MAX_SECTIONS", "MAX_FIGURES", "MAX_ATTACHMENTS",
]

SUBJECT_KIND = "organisation.progress_report"
"""``Submission.subject_kind`` of a reform progress report (改革工作推进情况报告)."""

MAX_SECTIONS = 12
MAX_FIGURES = 40
MAX_ATTACHMENTS = 20

Text = Annotated[str, no_nul, Field(max_length=200, description="至多200字")]
Name = Annotated[str, no_nul, Field(min_length=1, max_length=50, description="姓名，至多50字")]
Key = Annotated[str, Field(pattern=r"^[a-z_]{1,32}$", max_length=32)]
Year = Annotated[int, Field(ge=2019, le=2100, description="年度")]


class OfficeKind(str, Enum):
    """机构类别."""

    county_management = "county_management"  # 县级统计局乡镇（街道）统计工作管理办公室
    township_office = "township_office"      # 乡镇（街道）统计工作办公室（加挂）


class PostRole(str, Enum):
    """岗位."""

    county_office_staff = "county_office_staff"          # 管理办公室工作人员
    township_statistician = "township_statistician"      # 乡镇（街道）统计员
    village_coordinator = "village_coordinator"          # 村级统计协管员
    grid_worker = "grid_worker"                          # 网格员
    enterprise_statistician = "enterprise_statistician"  # 联网直报企业统计人员


class StaffingMode(str, Enum):
    """用人方式（52号 四：派驻、专职、购买服务三结合）."""

    dispatched = "dispatched"                # 派驻
    full_time = "full_time"                  # 专职
    purchased_service = "purchased_service"  # 购买服务
    part_time = "part_time"                  # 兼职


class ScopeBasis(str, Enum):
    """纳入改革的依据（52号 三）."""

    full_rollout = "full_rollout"  # （一）百色市全面铺开
    pilot = "pilot"                # （二）改革试点
    city_choice = "city_choice"    # （三）市选取的试点县（区）


class GroupRole(str, Enum):
    """领导小组职务."""

    leader = "leader"    # 组长
    deputy = "deputy"    # 副组长
    member = "member"    # 成员


@event("organisation.office.recorded", 1)
class OfficeRecorded(EventPayload):
    """统计工作机构已登记（或更新）：县管理办公室或乡镇统计工作办公室，及其编制数."""

    office_id: UUID
    division_code: DivisionCode
    kind: OfficeKind
    name: Text
    host_department: Text | None = Field(None, description="加挂的乡镇（街道）部门（至多200字）")
    establishment: int = Field(ge=0, le=10_000, description="核定编制数")


@event("organisation.appointment.recorded", 1)
class AppointmentRecorded(EventPayload):
    """人员任用已登记（或更新）."""

    appointment_id: UUID
    person_name: Name
    role: PostRole
    division_code: DivisionCode = Field(description="任职区划（县、乡镇或村）")
    staffing_mode: StaffingMode
    start_date: date
    end_date: date | None = None
    account_username: Text | None = Field(None, description="平台账号（登录名），如有（至多200字）")
    unit_name: Text | None = Field(None, description="联网直报单位名称（企业统计人员，至多200字）")
    in_establishment: bool = Field(False, description="是否占用管理办公室编制")


@event("organisation.appointment.ended", 1)
class AppointmentEnded(EventPayload):
    """任用已结束."""

    appointment_id: UUID
    end_date: date
    reason: Text


class Phase(EventPayload):
    """改革阶段."""

    code: Annotated[str, Field(pattern=r"^[a-z_]{1,20}$", max_length=20,
                               description="阶段代码（至多20字符）")]
    name: Text
    start: date
    end: date


class ScopedCounty(EventPayload):
    county_code: DivisionCode
    basis: ScopeBasis
    name_in_document: Text | None = Field(None, description="文件中的名称（如“田阳县”，现田阳区；至多200字）")


@event("organisation.reform.scoped", 1)
class ReformScoped(EventPayload):
    """改革范围与时间安排已登记（自治区统计局）."""

    reform_id: UUID
    year: Year
    title: Text
    document_no: Text
    phases: list[Phase] = Field(max_length=10)
    counties: list[ScopedCounty] = Field(max_length=200)
    report_due_dates: list[date] = Field(max_length=12, description="推进情况报送截止日")
    choosing_cities: list[DivisionCode] = Field(default_factory=list, max_length=14,
                                                description="须自选试点县（区）的市")


@event("organisation.reform.county_chosen", 1)
class ReformCountyChosen(EventPayload):
    """市统计局选取的改革试点县（区）."""

    reform_id: UUID
    year: Year
    city_code: DivisionCode
    county_code: DivisionCode


@event("organisation.plan.filed", 1)
class PlanFiled(EventPayload):
    """改革实施方案已备案：谁批准、报谁备案、何时."""

    plan_id: UUID
    year: Year
    division_code: DivisionCode
    title: Text
    document_no: Text | None = None
    approved_by: Text = Field(description="批准机关（如县委、县政府）")
    approved_on: date
    filed_with: Text = Field(description="备案机关（如市统计局）")
    filed_on: date


class GroupMember(EventPayload):
    name: Name
    post: Text = Field(description="单位及职务（至多200字）")
    group_role: GroupRole


@event("organisation.leading_group.recorded", 1)
class LeadingGroupRecorded(EventPayload):
    """改革工作领导小组已登记."""

    group_id: UUID
    year: Year
    division_code: DivisionCode
    name: Text
    members: list[GroupMember] = Field(min_length=1, max_length=60)


class Attachment(EventPayload):
    """附件（出台的相关文件材料）: reference only, the document itself stays with the office."""

    title: Text
    document_no: Text | None = None
    pages: int | None = Field(None, ge=1, le=10_000)


Sections = Annotated[dict[Key, Annotated[str, no_nul, Field(max_length=5000,
                                                           description="至多5000字")]],
                     Field(max_length=MAX_SECTIONS)]
Figures = Annotated[dict[Key, Annotated[int, Field(ge=0, le=10_000_000)]],
                    Field(max_length=MAX_FIGURES)]


class _ReportBody(EventPayload):
    report_id: UUID
    year: Year
    due_date: date
    county_code: DivisionCode
    sections: Sections = Field(default_factory=dict, description="叙述部分：节 -> 文字")
    figures: Figures = Field(default_factory=dict, description="人员与覆盖情况数字")
    attachments: list[Attachment] = Field(default_factory=list, max_length=MAX_ATTACHMENTS)


@event("organisation.progress_report.draft_saved", 1)
class ProgressReportDraftSaved(_ReportBody):
    """推进情况报告草稿已保存."""


@event("organisation.progress_report.submitted", 1)
class ProgressReportSubmitted(_ReportBody):
    """推进情况报告已报送；``submission`` opens or resubmits its review case."""

    revision: Revision
    late: bool = Field(description="报送时已过截止日")
    submission: Submission


@event("organisation.progress_report.returned", 1)
class ProgressReportReturned(EventPayload):
    """推进情况报告已退回县级修改."""

    report_id: UUID
    case_id: UUID
    revision: Revision
    from_level: Level
    reason_code: str = Field(pattern=r"^R[0-9]{2}$")
    reason: str
    field_notes: FieldNotes = Field(default_factory=dict)


@event("organisation.progress_report.accepted", 1)
class ProgressReportAccepted(EventPayload):
    """推进情况报告已验收（自治区统计局）."""

    report_id: UUID
    case_id: UUID
    revision: Revision
    level: Level
    final: bool = True


class ProgressReportReviewStep(EventPayload):
    """审核记录: the review-chain event the report followed, as people read it."""

    event_id: UUID
    type: Annotated[str, Field(pattern=r"^workflow\.case\.[a-z_]{1,30}$")]
    at: AwareDatetime
    actor_name: Text | None = None
    level: Level | None = None
    comment: Annotated[str, Field(max_length=1000)] | None = None


class LifecycleSnapshot(EventPayload):
    """The report's lifecycle state after a review step (gx_contracts.lifecycle)."""

    status: Annotated[str, Field(pattern=r"^[a-z_]{1,20}$")]
    revision: int = Field(ge=0)
    review_level: Level | None = None
    approved_rank: int = Field(0, ge=0, le=10)
    case_id: UUID | None = None
    accepted_level: Level | None = None
    confirmed_level: Level | None = None
    returned_from: Level | None = None


@event("organisation.progress_report.review_followed", 1)
class ProgressReportReviewFollowed(EventPayload):
    """推进情况报告跟随审核链：审核记录，及状态（如有变化）；read models are rebuilt from it."""

    report_id: UUID
    review: ProgressReportReviewStep
    moved: LifecycleSnapshot | None = None


class SubsidyRate(EventPayload):
    role: PostRole
    basis: Annotated[str, Field(pattern=r"^(monthly|per_unit)$", max_length=8,
                                description="monthly = 每月定额；per_unit = 按实际工作量（每件）；至多8字符")]
    amount: float = Field(ge=0, le=100_000, description="元")


@event("organisation.subsidy_rates.set", 1)
class SubsidyRatesSet(EventPayload):
    """工作补助标准已设定（某区划某年度，下级未设定时沿用上级）."""

    rates_id: UUID
    year: Year
    division_code: DivisionCode
    rates: list[SubsidyRate] = Field(min_length=1, max_length=10)


@event("organisation.workload.recorded", 1)
class WorkloadRecorded(EventPayload):
    """某人某月的实际工作量（件）."""

    appointment_id: UUID
    period: Annotated[str, Field(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$")]
    units: int = Field(ge=0, le=100_000)


class Attendance(EventPayload):
    appointment_id: UUID
    completed: bool = Field(description="是否完成培训（考核合格）")


@event("organisation.training.recorded", 1)
class TrainingRecorded(EventPayload):
    """培训班已登记（及出勤）."""

    session_id: UUID
    year: Year
    division_code: DivisionCode = Field(description="举办单位所在区划")
    level: Level = Field(description="举办层级")
    title: Text
    held_on: date
    audience: list[PostRole] = Field(min_length=1, max_length=5)
    attendance: list[Attendance] = Field(default_factory=list, max_length=2000)


@event("organisation.assessment.scored", 1)
class AssessmentScored(EventPayload):
    """乡镇规范化建设考核得分（县级评分）."""

    assessment_id: UUID
    year: Year
    township_code: DivisionCode
    criteria_version: int = Field(ge=1)
    scores: dict[Key, Annotated[float, Field(ge=0, le=100)]] = Field(max_length=40)
    total: float = Field(ge=0, le=100)
    model_standard: bool = Field(description="达到示范标准")
