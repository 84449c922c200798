"""Population change survey (人口变动调查) events, topic ``population.events``.

No personal data in events (names, ID numbers stay in the population service).
"""

from __future__ import annotations

from uuid import UUID

from pydantic import Field

from ..types import DivisionCode, EventPayload, Revision
from .base import Submission, event

__all__ = ["SUBJECT_KIND", "HouseholdSubmitted"]

SUBJECT_KIND = "population.household"


@event("population.household.submitted", 1)
class HouseholdSubmitted(EventPayload):
    """住户调查表已提交."""

    household_id: UUID
    survey_area_code: str = Field(description="调查小区代码")
    village_code: DivisionCode
    person_count: int = Field(ge=0, description="登记人数")
    revision: Revision
    submission: Submission
