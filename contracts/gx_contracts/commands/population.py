"""Population change survey request bodies (人口变动调查, 附件4)."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AfterValidator, AwareDatetime, Field
from pydantic_core import PydanticCustomError

from ..events.population import ERASURE_REASONS, REVEAL_REASONS, AreaCode
from ..types import Command, ExpectedVersion, ReturnFieldNotes, no_nul

__all__ = ["HouseholdForm", "PersonForm", "SaveHousehold", "ConfirmReadBack", "HandIn",
           "Recheck", "ErasePerson", "RevealIdNumber", "ImportAreas", "AreaItem",
           "AssignEnumerator", "VerifyArea", "RosterLine", "SaveRoster", "RosterRemovalInput",
           "RecordRosterReview", "ReportChange", "ChangePerson", "AdjustLedger",
           "RecordAdminFigures", "ExplainDiscrepancy", "DrawPesSample", "AssignPesTeam",
           "CheckPerson", "RecordPesCheck", "MatchPes", "PublishExam", "QuestionInput", "TakeExam"]

Text = Annotated[str, no_nul]
Code = Annotated[str, no_nul, Field(max_length=4, pattern=r"^[0-9]{1,4}$")]


def code(title: str) -> Any:
    """A code-list answer (digits, at most 4), checked against the year's form by the service."""
    return Field(None, title=title, description=f"{title}代码（数字，至多4位）")


def _listed(what: str, codes: dict[str, str]) -> str:
    return f"{what}（至多3字符）：" + "；".join(f"{k} {v}" for k, v in codes.items())


def text(n: int, title: str, default: Any = None, **kw: Any) -> Any:
    return Field(default, max_length=n, title=title, description=f"{title}（至多{n}字）", **kw)


def _known(codes: dict[str, str], what: str):
    def check(v: str) -> str:
        if v not in codes:
            raise PydanticCustomError("unknown_code", "{what}代码无效，可选：{codes}",
                                      {"what": what, "codes": "、".join(codes)})
        return v
    return AfterValidator(check)


class HouseholdForm(Command):
    """户表（H表）：字段规则见当年表式（版本化数据），此处只限长度与类型."""

    household_no: Annotated[Text, Field(min_length=1, max_length=3, pattern=r"^[0-9]{3}$",
                                        title="户编号", description="户编号（3位数字）")]
    household_type: Code | None = code("户别")
    persons_at_reference: int | None = Field(None, ge=0, le=999, title="标准时点本户人数")
    births_male: int | None = Field(None, ge=0, le=99, title="过去一年出生人口（男）")
    births_female: int | None = Field(None, ge=0, le=99, title="过去一年出生人口（女）")
    deaths_male: int | None = Field(None, ge=0, le=99, title="过去一年死亡人口（男）")
    deaths_female: int | None = Field(None, ge=0, le=99, title="过去一年死亡人口（女）")


class PersonForm(Command):
    """个人表（P表）：一人一张；``person_id`` 为已登记者的ID（新登记者不填）."""

    person_id: UUID | None = Field(None, title="人员ID")
    name: Text | None = text(40, "姓名")
    relationship: Code | None = code("与户主关系")
    sex: Code | None = code("性别")
    birth_year_month: Text | None = Field(None, max_length=7, title="出生年月",
                                          description="出生年月：年-月，如 1990-01（至多7字符）")
    ethnicity: Code | None = code("民族")
    id_number: Text | None = Field(None, max_length=18, title="公民身份号码", description="公民身份号码（18位）")
    registration_place: Code | None = code("户口登记地")
    registered_address: Text | None = text(120, "户口登记地详细地址")
    left_registration_time: Code | None = code("离开户口登记地时间")
    left_registration_reason: Code | None = code("离开户口登记地原因")
    education: Code | None = code("受教育程度")


class SaveHousehold(Command):
    """保存住户表（户表与全部个人表）；首次保存 expected_version 为 0."""

    household: HouseholdForm = Field(title="户表")
    persons: list[PersonForm] = Field(max_length=100, title="个人表", description="至多100人")
    expected_version: ExpectedVersion


class ConfirmReadBack(Command):
    """回读确认：向被调查人读出全部登记内容后，记录其确认."""

    expected_version: ExpectedVersion
    respondent: Literal["head", "member", "other"] = Field(title="确认人")
    confirmed: Literal[True] = Field(title="被调查人确认无误")
    confirmed_at: AwareDatetime | None = Field(
        None, title="确认时间（手机）",
        description="被调查人在手机上确认的时间（带时区）；不得晚于服务器时间加允许误差，不得早于调查标准时点")
    readback_sha256: str | None = Field(
        None, min_length=64, max_length=64, pattern=r"^[0-9a-f]{64}$", title="回读内容摘要",
        description="读给被调查人的回读文字（公民身份号码遮蔽为前4后4位）的 SHA-256（64位小写十六进制）")


class HandIn(Command):
    """交表（调查员），待村级复核."""

    expected_version: ExpectedVersion


class Recheck(Command):
    """村级复核：通过（报乡镇审核）或退回调查员."""

    expected_version: ExpectedVersion
    decision: Literal["pass", "return"] = Field(title="复核结论")
    reason: Annotated[Text, Field(max_length=500)] | None = text(500, "退回原因")
    field_notes: ReturnFieldNotes = Field(default_factory=dict, title="字段批注")


class ErasePerson(Command):
    """依法删除个人信息（自治区）：销毁该人的数据密钥."""

    reason_code: Annotated[str, _known(ERASURE_REASONS, "删除原因"),
                           Field(max_length=3, title="删除原因代码",
                                 description=_listed("删除原因代码", ERASURE_REASONS))]


class RevealIdNumber(Command):
    """查看完整公民身份号码（记入审计）."""

    reason_code: Annotated[str, _known(REVEAL_REASONS, "查看原因"),
                           Field(max_length=3, title="查看原因代码",
                                 description=_listed("查看原因代码", REVEAL_REASONS))]


class AreaItem(Command):
    area_code: AreaCode = Field(title="调查小区代码", description="调查小区代码（15位）")
    name: Text = text(100, "调查小区名称", ..., min_length=1)
    urban_rural_code: str = Field(max_length=3, pattern=r"^[1-2][1-3]0$", title="城乡分类代码",
                                  description="城乡分类代码（3位，如 111、220）")


class ImportAreas(Command):
    """导入当年抽中的调查小区（自治区）."""

    survey_year: int = Field(ge=2020, le=2100, title="调查年度")
    items: list[AreaItem] = Field(min_length=1, max_length=5000, title="调查小区")


class AssignEnumerator(Command):
    """分配（或取消分配）调查员到调查小区."""

    username: str = Field(min_length=3, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$",
                          title="调查员登录名", description="调查员登录名（至多64字符）")
    assigned: bool = Field(True, title="分配（false = 取消）")


class VerifyArea(Command):
    """核实调查小区：边界、建筑物清单、名称、城乡属性."""

    boundary: Text = text(1000, "边界描述", ..., min_length=1)
    buildings: list[Annotated[Text, Field(min_length=1, max_length=100)]] = Field(
        max_length=2000, title="建筑物清单",
        description="建筑物清单：每项为建筑物编号与名称（每项至多100字，至多2000项）")
    name: Text = text(100, "调查小区名称", ..., min_length=1)
    urban_rural_code: str = Field(max_length=3, pattern=r"^[1-2][1-3]0$", title="城乡分类代码",
                                  description="城乡分类代码（3位，如 111、220）")


class QuestionInput(Command):
    """一道单选题."""

    id: str = Field(min_length=1, max_length=16, pattern=r"^[A-Za-z0-9_\-]+$", title="题号",
                    description="题号（字母数字，至多16字符）")
    text: Text = text(300, "题目", ..., min_length=1)
    options: list[Annotated[Text, Field(min_length=1, max_length=120)]] = Field(
        min_length=2, max_length=8, title="选项", description="选项（每项至多120字，2至8项）")
    answer: int = Field(ge=0, le=7, title="正确选项序号（从0起）")


class PublishExam(Command):
    """发布当年调查员培训考试（题库与合格线，自治区）."""

    pass_mark: int = Field(ge=1, le=100, title="合格线（百分制）")
    questions: list[QuestionInput] = Field(min_length=1, max_length=200, title="题库")


class TakeExam(Command):
    """交卷：题目ID -> 所选选项序号."""

    answers: dict[Annotated[str, Field(max_length=16, pattern=r"^[A-Za-z0-9_\-]+$")],
                  Annotated[int, Field(ge=0, le=7)]] = Field(
        max_length=200, title="答案", description="题号（至多16字符） -> 所选选项序号，至多200题")



class RosterLine(Command):
    """户主姓名底册一行；``entry_id`` 为已有行的ID（新增行不填）."""

    entry_id: UUID | None = Field(None, title="底册行ID")
    building_no: Text = text(20, "建筑物编号", ..., min_length=1)
    dwelling_no: Text = text(20, "住房编号", ..., min_length=1)
    head_name: Text = text(40, "户主姓名", ..., min_length=1)
    household_size: int = Field(ge=1, le=999, title="户人数")
    household_type: Literal["1", "2"] = Field(title="户别（1 家庭户，2 集体户）")


class SaveRoster(Command):
    """保存户主姓名底册（摸底）."""

    entries: list[RosterLine] = Field(max_length=2000, title="底册", description="至多2000户")
    expected_version: ExpectedVersion


class RosterRemovalInput(Command):
    entry_id: UUID = Field(title="删除的底册行ID")
    reason: Text = text(200, "删除原因", ..., min_length=1)


class RecordRosterReview(Command):
    """记录底册复议（与村干部、居民代表核对有无遗漏）."""

    held_on: str = Field(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", max_length=10,
                         title="复议日期", description="复议日期 YYYY-MM-DD（10位）")
    participants: list[Annotated[Text, Field(min_length=1, max_length=40)]] = Field(
        min_length=1, max_length=30, title="参加人员",
        description="参加人员的职务或身份（每项至多40字，至多30项）")
    added: list[UUID] = Field(default_factory=list, max_length=2000, title="增补的底册行ID")
    removed: list[RosterRemovalInput] = Field(default_factory=list, max_length=2000,
                                              title="删除的底册行及原因")
    note: Text = text(500, "复议说明", "")
    expected_version: ExpectedVersion


DateText = Annotated[str, Field(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", max_length=10,
                                description="日期 YYYY-MM-DD（10位）")]
MonthText = Annotated[str, Field(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$", max_length=7,
                                 description="月份 YYYY-MM（7位）")]
LedgerMonth = Annotated[str, Field(pattern=r"^20[0-9]{2}-(0[1-9]|1[0-2])$", max_length=7,
                                   description="台账月份 YYYY-MM（7位，2000-01至2099-12）")]


class ChangePerson(Command):
    """变动当事人."""

    name: Text = text(40, "姓名", ..., min_length=1)
    sex: Literal["1", "2"] = Field(title="性别（1 男，2 女）")
    id_number: Text | None = Field(None, max_length=18, title="公民身份号码",
                                   description="公民身份号码（18位，可不填）")


class ReportChange(Command):
    """报告人口变动（网格员）."""

    kind: Literal["birth", "death", "move_in", "move_out"] = Field(title="变动类别")
    date: DateText = Field(title="变动日期")
    person: ChangePerson = Field(title="当事人")


class AdjustLedger(Command):
    """台账人工调整（村级统计协管员），须说明原因."""

    month: LedgerMonth = Field(title="月份")
    indicator: Literal["households", "registered", "resident", "out_migrants", "in_migrants",
                       "births", "deaths"] = Field(title="指标")
    delta: int = Field(ge=-1_000_000, le=1_000_000, title="调整数（可为负）")
    reason: Text = text(500, "调整原因", ..., min_length=1)


class RecordAdminFigures(Command):
    """录入调查小区的行政记录数（复查用）."""

    households: int = Field(ge=0, le=100_000, title="户数")
    persons: int = Field(ge=0, le=1_000_000, title="人数")
    births: int = Field(ge=0, le=100_000, title="出生人口")
    deaths: int = Field(ge=0, le=100_000, title="死亡人口")
    source: Text = text(200, "资料来源", ..., min_length=1)


class ExplainDiscrepancy(Command):
    """说明复查差异."""

    indicator: Literal["households", "persons", "births", "deaths"] = Field(title="指标")
    explanation: Text = text(500, "差异说明", ..., min_length=1)
    corrected: bool = Field(False, title="已更正登记")


class DrawPesSample(Command):
    """抽取事后质量抽查样本（自治区）；不填种子则随机生成并记录."""

    survey_year: int = Field(ge=2020, le=2100, title="调查年度")
    size: int = Field(ge=1, le=5000, title="抽取小区数")
    seed: str | None = Field(None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$",
                             title="随机种子", description="随机种子（字母数字，至多64字符）")


class AssignPesTeam(Command):
    """指定抽查小区的独立复查员."""

    usernames: list[Annotated[str, Field(min_length=3, max_length=64,
                                         pattern=r"^[A-Za-z0-9_.\-]+$")]] = Field(
        min_length=1, max_length=20, title="复查员登录名",
        description="复查员登录名（每项至多64字符，至多20人）")


class CheckPerson(Command):
    """复查登记的一人."""

    name: Text | None = text(40, "姓名")
    sex: Literal["1", "2"] | None = Field(None, title="性别（1 男，2 女）")
    birth_year_month: MonthText | None = Field(None, title="出生年月")
    id_number: Text | None = Field(None, max_length=18, title="公民身份号码",
                                   description="公民身份号码（18位）")


class RecordPesCheck(Command):
    """录入独立复查登记的人员（复查员）."""

    persons: list[CheckPerson] = Field(min_length=1, max_length=5000, title="复查人员",
                                       description="至多5000人")


class MatchPes(Command):
    """比对两次登记（自治区）；erroneous 为经核实不应登记的登记人员ID."""

    erroneous: list[UUID] = Field(default_factory=list, max_length=5000,
                                  title="不应登记的登记人员ID")
