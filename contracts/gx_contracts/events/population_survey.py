"""Population survey events of the ledger, the re-check and the post-enumeration check
(人口信息指标台账, 复查, 事后质量抽查), topic ``population.events``. Import them from
``gx_contracts.events.population``, which re-exports them; identifying fields are sealed there."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from pydantic import Field

from ..types import DivisionCode, EventPayload
from .base import event
from .population import AreaCode, PersonEntry

# -- 人口信息指标台账 (ledger) ----------------------------------------------------------------
CHANGE_KINDS = {"birth": "出生", "death": "死亡", "move_in": "迁入（流入）", "move_out": "迁出（流出）"}
LEDGER_INDICATORS = {"households": "户数", "registered": "户籍人口", "resident": "常住人口",
                     "out_migrants": "外出人口", "in_migrants": "外来人口", "births": "出生人口",
                     "deaths": "死亡人口"}
RECHECK_INDICATORS = {"households": "户数", "persons": "人数", "births": "出生人口",
                      "deaths": "死亡人口"}
Month = Annotated[str, Field(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$", description="月份 YYYY-MM")]


@event("population.change.reported", 1)
class ChangeReported(EventPayload):
    """网格员报告人口变动（出生、死亡、迁入、迁出）；当事人姓名等为密文."""

    change_id: UUID
    village_code: DivisionCode
    kind: Literal["birth", "death", "move_in", "move_out"]
    date: str = Field(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
    month: Month
    person: PersonEntry


@event("population.ledger.adjusted", 1)
class LedgerAdjusted(EventPayload):
    """台账人工调整（须说明原因），如期初数、核实更正."""

    adjustment_id: UUID
    village_code: DivisionCode
    month: Month
    indicator: Literal["households", "registered", "resident", "out_migrants", "in_migrants",
                       "births", "deaths"]
    delta: int = Field(ge=-1_000_000, le=1_000_000)
    reason: str = Field(min_length=1, max_length=500)


# -- 复查 (re-check against administrative records) -------------------------------------------
@event("population.admin_figures.recorded", 1)
class AdminFiguresRecorded(EventPayload):
    """调查小区的行政记录数（如户籍登记的户数、人数、出生、死亡）已录入."""

    area_id: UUID
    households: int = Field(ge=0, le=100_000)
    persons: int = Field(ge=0, le=1_000_000)
    births: int = Field(ge=0, le=100_000)
    deaths: int = Field(ge=0, le=100_000)
    source: str = Field(min_length=1, max_length=200)


@event("population.discrepancy.explained", 1)
class DiscrepancyExplained(EventPayload):
    """复查差异已说明（或已更正）."""

    area_id: UUID
    indicator: Literal["households", "persons", "births", "deaths"]
    explanation: str = Field(min_length=1, max_length=500)
    corrected: bool = False


# -- 事后质量抽查 (post-enumeration check) ----------------------------------------------------
@event("population.pes.sample_drawn", 1)
class PesSampleDrawn(EventPayload):
    """事后质量抽查样本已抽取（可复现：抽样框与随机种子已记录）."""

    sample_id: UUID
    survey_year: int = Field(ge=2020, le=2100)
    seed: str = Field(min_length=1, max_length=64)
    frame_size: int = Field(ge=1)
    area_codes: list[AreaCode] = Field(min_length=1, max_length=5000)


@event("population.pes.team_assigned", 1)
class PesTeamAssigned(EventPayload):
    """抽查小区的独立复查员（不得为该小区的调查员）."""

    sample_id: UUID
    area_id: UUID
    usernames: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(
        min_length=1, max_length=20)


@event("population.pes.check_recorded", 1)
class PesCheckRecorded(EventPayload):
    """独立复查登记的人员（个人身份信息为密文）."""

    sample_id: UUID
    area_id: UUID
    persons: list[PersonEntry] = Field(max_length=5000)


class PesDecision(EventPayload):
    check_id: UUID
    enumeration_id: UUID | None
    method: Literal["id_number", "name_sex_birth"] | None
    reason: str = Field(max_length=200)


@event("population.pes.matched", 1)
class PesMatched(EventPayload):
    """两次登记的人员比对结果（每个复查人员的比对结论与理由）."""

    sample_id: UUID
    area_id: UUID
    area_code: AreaCode
    decisions: list[PesDecision] = Field(max_length=5000)
    duplicates: list[UUID] = Field(default_factory=list, max_length=5000)
    insufficient: list[UUID] = Field(default_factory=list, max_length=5000)
    erroneous: list[UUID] = Field(default_factory=list, max_length=5000)
    C: int = Field(ge=0)
    II: int = Field(ge=0)
    CE: int = Field(ge=0)
    P: int = Field(ge=0)
    M: int = Field(ge=0)
