"""审核案卷 (ReviewCase): the event-sourced state of one submission's review. Pure, no I/O.

State changes only through `apply(event)`; commands live in `domain/commands.py` and return
event payloads (gx_contracts.events.workflow) that the caller appends and then applies.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import Enum
from typing import Any, Protocol
from uuid import UUID

from gx_contracts.divisions import Level
from gx_contracts.events.workflow import (
    CaseAccepted,
    CaseApproved,
    CaseOpened,
    CaseOverdue,
    CaseReopened,
    CaseResubmitted,
    CaseReturned,
)
from gx_contracts.ids import stream_id


class CaseStatus(str, Enum):
    """案卷状态."""

    in_review = "in_review"  # 审核中：held by a review level of the chain
    returned = "returned"    # 已退回报送人：waits for the submitter to correct and resubmit
    accepted = "accepted"    # 已验收（最终确认）


class Recorded(Protocol):
    """What `apply` needs of a stored event (StoredEvent and InboundEvent both fit)."""

    type: str
    version: int
    data: dict[str, Any]
    recorded_at: datetime


@dataclass(frozen=True)
class ReviewCase:
    """审核案卷."""

    case_id: UUID
    subject_kind: str
    subject_id: str
    division_code: str
    task_id: str | None
    title: str
    revision: int
    chain: tuple[Level, ...]
    final_level: Level
    early_accept_levels: tuple[Level, ...]
    deadline_seconds: dict[str, int]
    chain_version: int | None
    status: CaseStatus
    level: Level                 # who holds the case now (village = the submitter)
    version: int                 # stream version = number of events applied
    opened_at: datetime
    arrived_at: datetime         # when the current holder received it
    deadline: datetime | None    # of the current holding, if a review level
    late: bool = False           # overdue already recorded for the current holding
    sent_back: bool = False      # held here because a higher level returned it
    accepted_level: Level | None = None  # last acceptance (early 数据验收, or final 确认)
    early_accepted_level: Level | None = None  # 数据验收 the confirmation builds on (kept by it)
    last_action: str = "opened"
    returns: int = 0             # how many times it was returned
    field_notes: dict[str, str] = field(default_factory=dict)  # of the last return
    watch_levels: tuple[Level, ...] = ()  # may return while in review (同步监测)
    field_labels: dict[str, str] = field(default_factory=dict)  # indicators of the form
    chain_profile: str | None = None

    @property
    def stream_id(self) -> str:
        return case_stream_id(self.case_id)

    @property
    def is_final(self) -> bool:
        return self.status is CaseStatus.accepted

    def next_level(self) -> Level | None:
        """The chain level above the current one (None at the top)."""
        i = self.chain.index(self.level)
        return self.chain[i + 1] if i + 1 < len(self.chain) else None

    def lower_levels(self) -> tuple[Level, ...]:
        """Chain levels below the current one (valid return targets besides the submitter)."""
        if self.level not in self.chain:
            return ()
        return self.chain[: self.chain.index(self.level)]

    # -- evolution ----------------------------------------------------------------------
    @classmethod
    def replay(cls, events: Iterable[Recorded]) -> ReviewCase | None:
        case: ReviewCase | None = None
        for e in events:
            case = evolve(case, e)
        return case

    def apply(self, event: Recorded) -> ReviewCase:
        return evolve(self, event)


def case_stream_id(case_id: UUID | str) -> str:
    """`case-<uuid>`: the stream of one case (the contracts' one stream-id rule)."""
    return stream_id("case", case_id)


def evolve(case: ReviewCase | None, e: Recorded) -> ReviewCase:
    """The state after one event; raises ValueError on an event that cannot follow."""
    if e.type == CaseOpened.EVENT_TYPE:
        if case is not None:
            raise ValueError("case opened twice")
        return _opened(e)
    if case is None:
        raise ValueError(f"{e.type} before workflow.case.opened")
    if e.version != case.version + 1:
        raise ValueError(f"event version {e.version} does not follow {case.version}")
    try:
        step = _STEPS[e.type]
    except KeyError:
        raise ValueError(f"unknown case event {e.type}") from None
    return step(case, e.data, e.recorded_at, e.version)


Step = Callable[[ReviewCase, dict[str, Any], datetime, int], ReviewCase]


def _moved(version: int, d: dict[str, Any]) -> dict[str, Any]:
    """What every step to a new holder resets: not late, not sent back, its own deadline."""
    return dict(version=version, late=False, sent_back=False, deadline=_dt(d.get("deadline")))


def _approved(case: ReviewCase, d: dict[str, Any], at: datetime, v: int) -> ReviewCase:
    return replace(case, **_moved(v, d), level=Level(d["to_level"]), arrived_at=at,
                   last_action="approved")


def _returned(case: ReviewCase, d: dict[str, Any], at: datetime, v: int) -> ReviewCase:
    target = Level(d["to_level"])
    status = CaseStatus.returned if target is Level.village else CaseStatus.in_review
    return replace(case, **{**_moved(v, d), "sent_back": target is not Level.village},
                   status=status, level=target, arrived_at=at,
                   accepted_level=None, early_accepted_level=None,
                   last_action="returned", returns=case.returns + 1,
                   field_notes=dict(d.get("field_notes") or {}))


def _resubmitted(case: ReviewCase, d: dict[str, Any], at: datetime, v: int) -> ReviewCase:
    labels = d.get("field_labels")
    return replace(case, **_moved(v, d), status=CaseStatus.in_review, level=Level(d["level"]),
                   revision=int(d["revision"]), arrived_at=at,
                   last_action="resubmitted", field_notes={},
                   field_labels=case.field_labels if labels is None else dict(labels))


def _accepted(case: ReviewCase, d: dict[str, Any], at: datetime, v: int) -> ReviewCase:
    if d.get("final", True):
        return replace(case, **{**_moved(v, d), "deadline": None},
                       status=CaseStatus.accepted, level=Level(d["level"]),
                       arrived_at=at, accepted_level=Level(d["level"]),
                       last_action="accepted")
    return replace(case, **_moved(v, d), level=Level(d["next_level"]), arrived_at=at,
                   accepted_level=Level(d["level"]), early_accepted_level=Level(d["level"]),
                   last_action="accepted_early")


def _reopened(case: ReviewCase, d: dict[str, Any], at: datetime, v: int) -> ReviewCase:
    return replace(case, **_moved(v, d), status=CaseStatus.in_review, level=Level(d["level"]),
                   arrived_at=at, accepted_level=None, last_action="reopened")


def _overdue(case: ReviewCase, d: dict[str, Any], at: datetime, v: int) -> ReviewCase:
    return replace(case, version=v, late=True)


_STEPS: dict[str, Step] = {
    CaseApproved.EVENT_TYPE: _approved,
    CaseReturned.EVENT_TYPE: _returned,
    CaseResubmitted.EVENT_TYPE: _resubmitted,
    CaseAccepted.EVENT_TYPE: _accepted,
    CaseReopened.EVENT_TYPE: _reopened,
    CaseOverdue.EVENT_TYPE: _overdue,
}


def _opened(e: Recorded) -> ReviewCase:
    d = e.data
    sub = d["submission"]
    chain = tuple(Level(x) for x in d["chain"])
    return ReviewCase(
        case_id=UUID(str(d["case_id"])), subject_kind=sub["subject_kind"],
        subject_id=str(sub["subject_id"]), division_code=sub["division_code"],
        task_id=str(sub["task_id"]) if sub.get("task_id") else None, title=sub.get("title", ""),
        revision=int(sub["revision"]), chain=chain,
        final_level=Level(d.get("final_level") or chain[-1]),
        early_accept_levels=tuple(Level(x) for x in d.get("early_accept_levels") or ()),
        deadline_seconds={str(k): int(v) for k, v in (d.get("deadline_seconds") or {}).items()},
        chain_version=d.get("chain_version"), status=CaseStatus.in_review,
        level=Level(d["level"]), version=e.version, opened_at=e.recorded_at,
        arrived_at=e.recorded_at, deadline=_dt(d.get("deadline")),
        watch_levels=tuple(Level(x) for x in d.get("watch_levels") or ()),
        field_labels=dict(sub.get("field_labels") or {}), chain_profile=d.get("chain_profile"))


def _dt(v: Any) -> datetime | None:
    if v is None or isinstance(v, datetime):
        return v
    return datetime.fromisoformat(str(v).replace("Z", "+00:00"))
