"""Least access to person records (最小必要): who sees identifying fields, who sees counts.

- 网格员 (enumerator): the households they registered;
- 村级统计协管员: every household of their village;
- reviewers (township … region): a household inside their jurisdiction only while its case
  is at their level (审核中 at that level); otherwise counts only;
- anyone else inside the jurisdiction (ops): counts only. Outside the jurisdiction: nothing.
"""
from __future__ import annotations

from enum import Enum

from gx_contracts.divisions import Level, contains

REVIEWER_LEVELS = {"township_statistician": Level.township, "county_statistician": Level.county,
                   "city_statistician": Level.city, "region_statistician": Level.region}
ENUMERATOR = "grid_worker"
COORDINATOR = "village_coordinator"


class View(str, Enum):
    full = "full"      # identifying fields (ID numbers masked unless revealed)
    counts = "counts"  # de-identified: codes, age bands, counts
    none = "none"      # not found for this reader


def view_of(role: str, jurisdiction: str, user_id: str, *, village_code: str,
            enumerator: str, status: str, review_level: str | None) -> View:
    """What a reader may see of one household's person records."""
    if role == "subscriber" or not contains(jurisdiction, village_code):
        return View.none
    if role == ENUMERATOR:
        return View.full if enumerator == user_id else View.counts
    if role == COORDINATOR:
        return View.full if jurisdiction == village_code else View.counts
    level = REVIEWER_LEVELS.get(role)
    if level is not None and status == "submitted" and review_level == level.value:
        return View.full
    return View.counts
