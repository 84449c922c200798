"""农业报表的状态与权限规则 (pure)."""
from __future__ import annotations

from gx_contracts.divisions import Level

NOT_STARTED, DRAFT, SUBMITTED, RETURNED, ACCEPTED = (
    "not_started", "draft", "submitted", "returned", "accepted")
EDITABLE = frozenset({NOT_STARTED, DRAFT, RETURNED})
IN_TOTALS = frozenset({SUBMITTED, ACCEPTED})  # returned/draft reports leave the totals
REVIEWER_ROLES = frozenset({"region_statistician", "city_statistician", "county_statistician",
                            "township_statistician"})
COORDINATOR = "village_coordinator"
READER_ROLES = REVIEWER_ROLES | {COORDINATOR, "grid_worker"}


def approved_rank_after_return(current: int, to_level: str) -> int:
    """Returned to a lower review level: approvals at or above that level no longer hold."""
    return min(current, Level(to_level).rank - 1)


def approved_rank_after_approval(current: int, from_level: str) -> int:
    return max(current, Level(from_level).rank)


def required_rank(level: Level) -> int:
    """'Approved at or above level L' for totals at L (a village total needs the township)."""
    return max(level.rank, Level.township.rank)
