"""Basic-unit register request bodies (基本单位名录库, 附件2)."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from pydantic import Field

from ..divisions import Level
from ..types import Command, DivisionCode, ExpectedVersion, RequiredReason, at_most, no_nul

__all__ = ["StartImport", "ResolveReview", "PushDown", "TransferOut", "ReturnUp", "CreateGrid",
           "AssignTasks", "LocationFix", "SaveUnitForm", "SubmitUnitForm", "OpenRound",
           "ConfirmUnit", "OpenUnitForm", "RunAudit", "CloseUnit", "MAX_UPLOAD_BYTES",
           "MAX_PART_BYTES"]

MAX_UPLOAD_BYTES = 200 * 1024 * 1024
"""Largest department file (200 MB: a 300,000-row XLSX is ~40 MB)."""
MAX_PART_BYTES = 768 * 1024
"""Largest upload part: below the gateway's 1 MiB body limit."""

Name = Annotated[str, no_nul, Field(min_length=1, max_length=200, description="至多200字")]
Note = Annotated[str, no_nul, Field(max_length=500, description="至多500字")]
FieldCode = Annotated[str, Field(max_length=64, description="字段代码，至多64字符")]
FormValue = Annotated[str, no_nul, Field(max_length=300, description="至多300字")] | Annotated[
    int, Field(ge=-1_000_000_000, le=1_000_000_000)] | None
TaskIds = Annotated[list[UUID], at_most(1000, "任务"), Field(max_length=1000)]


class StartImport(Command):
    """开始导入部门资料（随后分片上传文件，再完成）."""

    department: Annotated[str, no_nul] = Field(
        min_length=1, max_length=20, title="部门",
        description="编制、民政、市场监管、税务、司法、宗教、农业农村（至多20字）")
    file_name: Name = Field(title="文件名", description="以 .csv 或 .xlsx 结尾（至多200字）")
    file_bytes: int = Field(ge=1, le=MAX_UPLOAD_BYTES, title="文件大小（字节）")
    mapping_version: int | None = Field(None, ge=1, le=1000, title="列对照版本（空 = 最新）")


class ResolveReview(Command):
    """人工判定：same = 并入已有单位（unit_id 为候选之一），new = 作为新增单位."""

    decision: Literal["same", "new"] = Field(title="判定")
    unit_id: UUID | None = Field(None, title="并入的单位")
    reason: Note = Field("", title="说明")


class PushDown(Command):
    """任务底册下划（按详细地址）到下一级或村."""

    to_level: Level = Field(title="下划到", description="township 或 village")
    task_ids: TaskIds = Field(default_factory=list, title="任务（空 = 全部可下划的任务）")
    kind: Literal["new_unit_search", "field_verification"] | None = Field(None, title="任务种类")


class TransferOut(Command):
    """迁出：单位实际在别处，转到该区划（落入该县的任务底册）."""

    to_division: DivisionCode = Field(title="迁入区划")
    reason: RequiredReason


class ReturnUp(Command):
    """返回上一级."""

    reason: RequiredReason


class CreateGrid(Command):
    """建立网格（村级统计协管员）."""

    village_code: DivisionCode = Field(title="村（社区）区划代码")
    name: Name = Field(title="网格名称")
    worker: Annotated[str, no_nul, Field(max_length=64)] | None = Field(
        None, title="网格员用户名", description="网格员登录名，至多64字符")


class AssignTasks(Command):
    """把任务单位分发到网格."""

    grid_id: UUID = Field(title="网格")
    task_ids: TaskIds = Field(min_length=1, title="任务", description="至多1000项")


class LocationFix(Command):
    """地理位置定位（浏览器 Geolocation API）."""

    latitude: float = Field(ge=-90, le=90, title="纬度")
    longitude: float = Field(ge=-180, le=180, title="经度")
    accuracy_m: float = Field(ge=0, le=1_000_000, title="精度（米）")
    taken_at: Annotated[str, no_nul] = Field(min_length=1, max_length=40, title="定位时间",
                                             description="ISO 8601 时间，至多40字符")


class SaveUnitForm(Command):
    """保存基本单位情况表."""

    values: Annotated[dict[FieldCode, FormValue], at_most(60, "字段")] = Field(
        max_length=60, title="表中字段", description="字段代码 -> 值（见表式；文字至多300字）")
    explanations: Annotated[dict[FieldCode, Note], at_most(60, "说明")] = Field(
        default_factory=dict, max_length=60, title="说明", description="字段代码 -> 说明，至多500字")
    location: LocationFix | None = Field(None, title="地理位置定位")
    expected_version: ExpectedVersion


class SubmitUnitForm(Command):
    """上报基本单位情况表."""

    expected_version: ExpectedVersion


class OpenRound(Command):
    """开始一轮定期确认."""

    period: Annotated[str, no_nul] = Field(pattern=r"^[0-9]{4}(-(Q[1-4]|H[12]|[0-9]{2}))?$",
                                           max_length=7, title="期别",
                                           description="如 2026-Q2，至多7字符")
    scope_division: DivisionCode = Field(title="范围")
    title: Name = Field(title="标题")


class ConfirmUnit(Command):
    """定期确认一个单位：confirmed 确认无误、changed 有变更（开调查表）、erroneous 差错、moved_out 迁出."""

    unit_id: UUID = Field(title="单位")
    outcome: Literal["confirmed", "changed", "erroneous", "moved_out"] = Field(title="确认结果")
    note: Note = Field("", title="说明", description="差错、迁出时必填（原因），至多500字")
    to_division: DivisionCode | None = Field(
        None, title="迁入区划", description="迁出时必填：单位实际所在的区划代码（落入该县的任务底册）")


class OpenUnitForm(Command):
    """打开基本单位情况表：为任务单位（task_id），或实地发现的新单位（只给 village_code）."""

    village_code: DivisionCode = Field(title="村（社区）")
    task_id: UUID | None = Field(None, title="任务")


class RunAudit(Command):
    """对名录库存量运行审核规则（范围内），差错单位生成实地核实任务."""

    scope_division: DivisionCode = Field(title="审核范围")


class CloseUnit(Command):
    """关闭单位：原因代码（GET /close-reasons 列出：deregistered 注销、revoked 吊销……）及说明."""

    reason: Annotated[str, no_nul] = Field(
        min_length=1, max_length=32, title="关闭原因",
        description="原因代码：deregistered 注销、revoked 吊销、cancelled 撤销、suspended 歇业、"
                    "bankrupt 破产、shut_down 关闭、other 其他（至多32字符）")
    note: Note = Field("", title="说明", description="选“其他”时必填，至多500字")
