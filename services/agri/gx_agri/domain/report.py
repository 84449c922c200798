"""农业报表的状态与权限规则 (pure)."""
from __future__ import annotations

from gx_contracts.divisions import Level

NOT_STARTED, DRAFT, SUBMITTED, RETURNED, ACCEPTED, CONFIRMED = (
    "not_started", "draft", "submitted", "returned", "accepted", "confirmed")
# accepted = 已验收 (数据验收, e.g. by the township; the region has yet to confirm);
# confirmed = 自治区已确认 (the final acceptance). Both read-only until a return reopens them.
EDITABLE = frozenset({NOT_STARTED, DRAFT, RETURNED})
READ_ONLY = frozenset({ACCEPTED, CONFIRMED})
IN_TOTALS = frozenset({SUBMITTED, ACCEPTED, CONFIRMED})  # returned/draft reports leave the totals
STATUS_ZH = {NOT_STARTED: "未填报", DRAFT: "草稿", SUBMITTED: "已报送，审核中",
             RETURNED: "已退回修改", ACCEPTED: "已验收", CONFIRMED: "自治区已确认"}
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


def status_zh(row) -> str:
    """已验收（乡镇） / 自治区已确认 …: the status with the level that accepted or confirmed."""
    text = STATUS_ZH.get(row["status"], row["status"])
    if row["status"] == ACCEPTED and row["accepted_level"]:
        return f"{text}（{Level(row['accepted_level']).label_zh}）"
    if row["status"] == CONFIRMED and row["confirmed_level"] not in (None, Level.region.value):
        return f"{Level(row['confirmed_level']).label_zh}已确认"
    return text
