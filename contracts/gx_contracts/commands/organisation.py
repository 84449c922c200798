"""Organisation of the work (统计工作组织) request bodies."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from uuid import UUID

from pydantic import ConfigDict, Field, model_validator

from ..events.organisation import (
    MAX_ATTACHMENTS,
    Attachment,
    Figures,
    GroupMember,
    Key,
    Name,
    OfficeKind,
    Phase,
    PostRole,
    ScopedCounty,
    Sections,
    StaffingMode,
    SubsidyRate,
    Text,
    Year,
)
from ..types import Command, DivisionCode, ExpectedVersion

_CLOSED = ConfigDict(extra="forbid", frozen=True)  # request parts refuse unknown fields too


class PhaseIn(Phase):
    """改革阶段."""

    model_config = _CLOSED


class ScopedCountyIn(ScopedCounty):
    """纳入改革的县（区）."""

    model_config = _CLOSED


class GroupMemberIn(GroupMember):
    """领导小组成员."""

    model_config = _CLOSED


class AttachmentIn(Attachment):
    """附件."""

    model_config = _CLOSED


class SubsidyRateIn(SubsidyRate):
    """补助标准."""

    model_config = _CLOSED


__all__ = ["RecordOffice", "RecordAppointment", "EndAppointment", "ScopeReform",
           "ScopeFromDocument", "ChooseCounty", "FilePlan", "RecordLeadingGroup",
           "SaveProgressDraft", "SubmitProgressReport", "SetSubsidyRates", "RecordWorkload",
           "TrainingAttendance", "RecordTraining", "ScoreAssessment"]


class RecordOffice(Command):
    """登记（或更新）统计工作机构."""

    division_code: DivisionCode = Field(title="区划代码")
    kind: OfficeKind = Field(title="机构类别")
    name: Text = Field(title="机构名称", min_length=1)
    host_department: Text | None = Field(None, title="加挂部门")
    establishment: int = Field(ge=0, le=10_000, title="编制数")
    expected_version: ExpectedVersion = 0


class RecordAppointment(Command):
    """登记人员任用."""

    person_name: Name = Field(title="姓名")
    role: PostRole = Field(title="岗位")
    division_code: DivisionCode = Field(title="任职区划")
    staffing_mode: StaffingMode = Field(title="用人方式")
    start_date: date = Field(title="任职起始日期")
    end_date: date | None = Field(None, title="任职截止日期")
    account_username: Annotated[str, Field(pattern=r"^[a-z0-9_.-]{3,50}$", max_length=50)] | None = Field(
        None, title="平台账号", description="平台账号（登录名，至多50字符）")
    unit_name: Text | None = Field(None, title="联网直报单位名称")
    in_establishment: bool = Field(False, title="占用编制")
    expected_version: ExpectedVersion = 0

    @model_validator(mode="after")
    def _dates(self) -> RecordAppointment:
        if self.end_date is not None and self.end_date < self.start_date:
            raise ValueError("任职截止日期（end_date）不能早于起始日期（start_date）")
        return self


class EndAppointment(Command):
    """结束任用."""

    end_date: date = Field(title="结束日期")
    reason: Text = Field(title="原因", min_length=1)
    expected_version: ExpectedVersion


class ScopeReform(Command):
    """登记改革范围与时间安排（自治区统计局）."""

    year: Year = Field(title="年度")
    title: Text = Field(min_length=1, title="改革名称")
    document_no: Text = Field(min_length=1, title="文号")
    phases: list[PhaseIn] = Field(min_length=1, max_length=10, title="阶段")
    counties: list[ScopedCountyIn] = Field(max_length=200, title="纳入改革的县（区）")
    report_due_dates: list[date] = Field(min_length=1, max_length=12, title="推进情况报送截止日")
    choosing_cities: list[DivisionCode] = Field(default_factory=list, max_length=14,
                                                title="须自选试点县（区）的市")


class ScopeFromDocument(Command):
    """按已收录的文件登记改革范围（如 桂统字〔2019〕52号）."""

    document_no: Text = Field(min_length=1, title="文号")
    year: Year | None = Field(None, title="年度（默认为文件年度）")


class ChooseCounty(Command):
    """市统计局选取改革试点县（区）."""

    county_code: DivisionCode = Field(title="县（区）区划代码")


class FilePlan(Command):
    """改革实施方案备案."""

    year: Year = Field(title="年度")
    division_code: DivisionCode = Field(title="区划代码（市或县）")
    title: Text = Field(min_length=1, title="方案名称")
    document_no: Text | None = Field(None, title="文号")
    approved_by: Text = Field(min_length=1, title="批准机关")
    approved_on: date = Field(title="批准日期")
    filed_with: Text = Field(min_length=1, title="备案机关")
    filed_on: date = Field(title="备案日期")
    expected_version: ExpectedVersion = 0

    @model_validator(mode="after")
    def _dates(self) -> FilePlan:
        if self.filed_on < self.approved_on:
            raise ValueError("备案日期（filed_on）不能早于批准日期（approved_on）")
        return self


class RecordLeadingGroup(Command):
    """登记改革工作领导小组."""

    year: Year = Field(title="年度")
    division_code: DivisionCode = Field(title="区划代码")
    name: Text = Field(min_length=1, title="领导小组名称")
    members: list[GroupMemberIn] = Field(min_length=1, max_length=60, title="成员")
    expected_version: ExpectedVersion = 0

    @model_validator(mode="after")
    def _leader(self) -> RecordLeadingGroup:
        if not any(m.group_role.value == "leader" for m in self.members):
            raise ValueError("领导小组须有组长（members 中 group_role = leader）")
        return self


class SaveProgressDraft(Command):
    """保存推进情况报告草稿."""

    sections: Sections = Field(default_factory=dict, title="叙述部分")
    figures: Figures = Field(default_factory=dict, title="人员与覆盖情况")
    attachments: list[AttachmentIn] = Field(default_factory=list,
                                            max_length=MAX_ATTACHMENTS, title="附件")
    expected_version: ExpectedVersion


class SubmitProgressReport(Command):
    """报送推进情况报告."""

    expected_version: ExpectedVersion


class SetSubsidyRates(Command):
    """设定工作补助标准."""

    year: Year = Field(title="年度")
    division_code: DivisionCode = Field(title="区划代码")
    rates: list[SubsidyRateIn] = Field(min_length=1, max_length=10, title="补助标准")


class RecordWorkload(Command):
    """登记某月实际工作量."""

    units: int = Field(ge=0, le=100_000, title="工作量（件）")


class TrainingAttendance(Command):
    """出勤."""

    appointment_id: UUID = Field(title="任用记录")
    completed: bool = Field(True, title="完成培训")


class RecordTraining(Command):
    """登记培训班及出勤."""

    year: Year = Field(title="年度")
    division_code: DivisionCode = Field(title="举办单位区划")
    title: Text = Field(min_length=1, title="培训名称")
    held_on: date = Field(title="举办日期")
    audience: list[PostRole] = Field(min_length=1, max_length=5, title="培训对象")
    attendance: list[TrainingAttendance] = Field(default_factory=list, max_length=2000,
                                                 title="出勤名单")


class ScoreAssessment(Command):
    """乡镇规范化建设考核评分（县级）."""

    year: Year = Field(title="年度")
    township_code: DivisionCode = Field(title="乡镇区划代码")
    scores: dict[Key, Annotated[float, Field(ge=0, le=100)]] = Field(
        min_length=1, max_length=40, title="各考核项目得分（0～100）")


