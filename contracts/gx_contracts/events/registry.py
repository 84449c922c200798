"""Basic-unit register (基本单位名录库, 附件2) events, topic ``registry.events``.

Streams: ``unit-<uuid>`` (a unit's whole history), ``import-<uuid>`` (a department file),
``review-<uuid>`` (an ambiguous match for a county reviewer), ``regtask-<uuid>`` (one unit's
task in a task list), ``tasklist-<division>`` (bulk push-downs by one division),
``grid-<uuid>``, ``unitform-<uuid>`` (a 基本单位情况表), ``round-<uuid>`` (定期确认).

Every unit event carries its ``source``: the department file and row, the survey form, the
confirmation round or the reviewer that caused it. Fields added later default to the old meaning.
"""

from __future__ import annotations

from enum import Enum
from typing import Any, Literal
from uuid import UUID

from pydantic import Field

from ..divisions import Level
from ..types import DivisionCode, EventPayload
from .base import event

__all__ = [
    "SUBJECT_KIND", "UnitKind", "Source", "UnitRegistered", "UnitChanged", "UnitClassified",
    "UnitMoved", "UnitClosed", "UnitConfirmed", "UnitFlagged", "UnitTransferredOut",
    "ImportStarted", "ImportCompleted", "ImportFailed", "ReviewOpened", "ReviewResolved",
    "TaskListPushedDown", "TaskTransferredOut", "TaskReturnedUp", "TaskAssigned", "GridCreated",
    "UnitFormDraftSaved", "UnitFormSubmitted", "UnitFormReturned", "UnitFormAccepted",
    "UnitFormOpened", "UnitFormReviewStep", "UnitFormStanding", "UnitFormReviewFollowed",
    "UnitFormHistoryAdopted", "RoundOpened", "TASK_KINDS", "Location",
]

SUBJECT_KIND = "registry.unit_form"
"""``Submission.subject_kind`` of a 基本单位情况表 (workflow chain ``registry.unit_form``)."""

TASK_KINDS = {"new_unit_search": "新增单位查找", "field_verification": "实地核实"}
"""任务底册的种类."""

Text = str  # bounded by the command that produced it; events are written by the service only


class UnitKind(str, Enum):
    """单位类别：法人单位 / 产业活动单位 / 个体经营户."""

    legal_person = "legal_person"
    activity_unit = "activity_unit"
    individual = "individual"


class Source(EventPayload):
    """来源：which department file and row, survey form, confirmation round or person."""

    kind: Literal["department_file", "survey", "confirmation", "review", "manual", "audit"]
    batch_id: UUID | None = Field(None, description="部门资料导入批次")
    department: str | None = Field(None, description="部门（市场监管、民政……）")
    file_name: str | None = None
    file_sha256: str | None = None
    row_no: int | None = Field(None, description="文件中的行号（表头为第1行）")
    form_id: UUID | None = Field(None, description="基本单位情况表ID")
    round_id: UUID | None = Field(None, description="定期确认轮次ID")
    review_id: UUID | None = None
    scope_division: DivisionCode | None = Field(None, description="审核（或确认）发起的区划：任务落入其任务底册")
    note: str | None = None


@event("registry.unit.registered", 1)
class UnitRegistered(EventPayload):
    """单位已入库."""

    unit_id: UUID
    unit_kind: UnitKind
    uscc: str | None = Field(None, description="统一社会信用代码（18位）")
    name: str = Field(description="单位详细名称")
    division_code: DivisionCode = Field(description="单位所在区划代码（定位到的最低一级）")
    address: str | None = Field(None, description="详细地址")
    legal_rep: str | None = Field(None, description="法定代表人（单位负责人）")
    status: str | None = Field(None, description="运营状态代码")
    reg_no: str | None = Field(None, description="注册号（15位，旧）")
    phone: str | None = None
    industry_code: str | None = Field(None, description="行业代码（GB/T 4754-2017）")
    placement: dict[str, Any] = Field(default_factory=dict,
                                      description="区划定位：code, level, source, reason_code, reason")
    flags: list[dict[str, str]] = Field(default_factory=list, description="代码校验提示（不阻止入库）")
    explanation: dict[str, Any] = Field(default_factory=dict, description="比对结论及其依据")
    source: Source | None = None


@event("registry.unit.changed", 1)
class UnitChanged(EventPayload):
    """单位信息已变更."""

    unit_id: UUID
    division_code: DivisionCode
    changes: dict[str, Any] = Field(description="字段名 -> 新值")
    previous: dict[str, Any] = Field(default_factory=dict, description="字段名 -> 原值")
    explanation: dict[str, Any] = Field(default_factory=dict, description="比对结论及其依据")
    source: Source | None = None


@event("registry.unit.classified", 1)
class UnitClassified(EventPayload):
    """单位已划分（法人单位/产业活动单位，单位类型），记录所用规则."""

    unit_id: UUID
    unit_kind: UnitKind
    unit_type: str = Field(description="单位类型：企业、事业单位、机关……")
    rules_version: str
    kind_rule: str
    type_rule: str
    parent_name: str | None = None
    parent_id: UUID | None = Field(None, description="所属法人单位（产业活动单位）")
    source: Source | None = None


@event("registry.unit.moved", 1)
class UnitMoved(EventPayload):
    """单位所在区划已改变（人工定位、迁出到实际所在地）."""

    unit_id: UUID
    from_division: DivisionCode
    to_division: DivisionCode
    reason_code: str = Field(description="placed | transferred_out | surveyed")
    reason: str = ""
    source: Source | None = None


@event("registry.unit.closed", 1)
class UnitClosed(EventPayload):
    """单位已关闭（注销、吊销、破产……）."""

    unit_id: UUID
    division_code: DivisionCode
    status: str = Field(description="运营状态代码")
    reason: str = ""
    source: Source | None = None


@event("registry.unit.confirmed", 1)
class UnitConfirmed(EventPayload):
    """定期确认：协管员确认了单位（confirmed、changed、erroneous、moved_out）."""

    unit_id: UUID
    division_code: DivisionCode
    round_id: UUID
    outcome: Literal["confirmed", "changed", "erroneous", "moved_out"]
    note: str = ""
    source: Source | None = None


@event("registry.unit.flagged", 1)
class UnitFlagged(EventPayload):
    """名录库审核差错：规则（数据）在存量上发现的错误，生成实地核实任务."""

    unit_id: UUID
    division_code: DivisionCode
    findings: list[dict[str, str]] = Field(max_length=50, description="rule, field, message")
    rules_version: str
    source: Source | None = None


@event("registry.unit.transferred_out", 1)
class UnitTransferredOut(EventPayload):
    """单位已迁出本辖区（early type; new moves are ``registry.unit.moved``)."""

    unit_id: UUID
    from_division: DivisionCode
    to_division: DivisionCode | None = Field(None, description="迁入区划（未知则为空）")
    reason: str = ""


@event("registry.import.started", 1)
class ImportStarted(EventPayload):
    """部门资料开始导入."""

    batch_id: UUID
    department: str
    mapping_version: int
    file_name: str
    file_sha256: str
    file_bytes: int
    scope_division: DivisionCode = Field(description="导入人所属区划")
    imported_by: str


@event("registry.import.completed", 1)
class ImportCompleted(EventPayload):
    """部门资料导入完成：行数、错误行数、各比对结论的单位数."""

    batch_id: UUID
    rows: int
    good_rows: int
    bad_rows: int
    outcomes: dict[str, int] = Field(default_factory=dict,
                                     description="unchanged, changed, new, ambiguous -> 行数")
    seconds: float = 0.0


@event("registry.import.failed", 1)
class ImportFailed(EventPayload):
    """部门资料导入失败（文件无法读取、缺少必需列……）."""

    batch_id: UUID
    code: str
    reason: str


@event("registry.review.opened", 1)
class ReviewOpened(EventPayload):
    """比对结论不确定，交县级人工判定（并排显示，附判定依据）."""

    review_id: UUID
    batch_id: UUID
    row_no: int
    division_code: DivisionCode = Field(description="记录定位到的区划（县级复核）")
    record: dict[str, Any]
    candidates: list[UUID] = Field(max_length=10)
    explanation: dict[str, Any]


@event("registry.review.resolved", 1)
class ReviewResolved(EventPayload):
    """人工判定完成：same（并入已有单位）或 new（新增单位）."""

    review_id: UUID
    decision: Literal["same", "new"]
    unit_id: UUID
    reason: str = ""
    decided_by: str


@event("registry.tasklist.pushed_down", 1)
class TaskListPushedDown(EventPayload):
    """任务底册逐级下划：``scope_division`` 持有的任务按详细地址下划到 ``to_level``.

    ``task_ids`` empty = every task the scope holds that is placed below it."""

    scope_division: DivisionCode
    to_level: Level
    task_ids: list[UUID] = Field(default_factory=list, max_length=1000)
    kind: str | None = None
    count: int = Field(ge=0, description="下划的任务数")


@event("registry.task.transferred_out", 1)
class TaskTransferredOut(EventPayload):
    """任务单位迁出到实际所在区划（落入该县的任务底册）."""

    task_id: UUID
    unit_id: UUID
    from_division: DivisionCode
    to_division: DivisionCode
    reason: str


@event("registry.task.returned_up", 1)
class TaskReturnedUp(EventPayload):
    """任务单位返回上一级."""

    task_id: UUID
    unit_id: UUID
    from_division: DivisionCode
    to_division: DivisionCode
    reason: str


@event("registry.task.assigned", 1)
class TaskAssigned(EventPayload):
    """任务单位分发到网格."""

    task_id: UUID
    unit_id: UUID
    grid_id: UUID
    village_code: DivisionCode


@event("registry.grid.created", 1)
class GridCreated(EventPayload):
    """网格已建立（编码在村之下）."""

    grid_id: UUID
    village_code: DivisionCode
    grid_code: str = Field(description="网格编码：村区划代码 + 3位序号")
    name: str
    worker: str | None = Field(None, description="网格员用户名")


@event("registry.round.opened", 1)
class RoundOpened(EventPayload):
    """定期确认轮次已开始：范围内每个村确认本村全部单位."""

    round_id: UUID
    period: str
    scope_division: DivisionCode
    title: str
    opened_by: str


# The survey form's events live in their own module (registry.py was over 400 lines).
from .registry_form import (  # noqa: E402
    Location,
    UnitFormAccepted,
    UnitFormDraftSaved,
    UnitFormHistoryAdopted,
    UnitFormOpened,
    UnitFormReturned,
    UnitFormReviewFollowed,
    UnitFormReviewStep,
    UnitFormStanding,
    UnitFormSubmitted,
)
