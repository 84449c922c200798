"""审核案卷 (ReviewCase): the event-sourced state of one submission's review. Pure, no I/O.

State changes only through `apply(event)`; commands live in `domain/commands.py` and return
event payloads (gx_contracts.events.workflow) that the caller appends and then applies. A
stored event is read through the contracts' `decode` (its typed payload, upcast from the
schema version it was stored with), never as a dict.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any, Protocol
from uuid import UUID

from gx_contracts.divisions import Level
from gx_contracts.events import decode
from gx_contracts.events.workflow import (
    CaseAccepted,
    CaseApproved,
    CaseOpened,
    CaseOverdue,
    CaseReopened,
    CaseResubmitted,
    CaseReturned,
)
from gx_contracts.frozen import replacer
from gx_contracts.ids import stream_id
from gx_contracts.types import EventPayload


class CaseStatus(str, Enum):
    """案卷状态."""

    in_review = "in_review"  # 审核中：held by a review level of the chain
    returned = "returned"    # 已退回报送人：waits for the submitter to correct and resubmit
    accepted = "accepted"    # 已验收（最终确认）


class Recorded(Protocol):
    """What `apply` needs of a stored event (StoredEvent fits)."""

    @property
    def type(self) -> str: ...
    @property
    def version(self) -> int: ...
    @property
    def schema_version(self) -> int: ...
    @property
    def data(self) -> dict[str, Any]: ...
    @property
    def recorded_at(self) -> datetime: ...


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
    """The state after one event; raises ValueError on an event that cannot follow (an
    EventDecodeError, a ValueError too, if its payload cannot be read)."""
    payload = decode(e.type, e.schema_version, e.data)
    if isinstance(payload, CaseOpened):
        if case is not None:
            raise ValueError("case opened twice")
        return _opened(payload, e.version, e.recorded_at)
    if case is None:
        raise ValueError(f"{e.type} before workflow.case.opened")
    if e.version != case.version + 1:
        raise ValueError(f"event version {e.version} does not follow {case.version}")
    try:
        step = _STEPS[type(payload)]
    except KeyError:
        raise ValueError(f"unknown case event {e.type}") from None
    return step(case, payload, e.recorded_at, e.version)


Step = Callable[[ReviewCase, Any, datetime, int], ReviewCase]
# `dataclasses.replace` without re-running the frozen __init__: replay folds every event
replace = replacer(ReviewCase)


def _moved(version: int, deadline: datetime | None) -> dict[str, Any]:
    """What every step to a new holder resets: not late, not sent back, its own deadline."""
    return dict(version=version, late=False, sent_back=False, deadline=deadline)


def _approved(case: ReviewCase, p: CaseApproved, at: datetime, v: int) -> ReviewCase:
    return replace(case, **_moved(v, p.deadline), level=p.to_level, arrived_at=at,
                   last_action="approved")


def _returned(case: ReviewCase, p: CaseReturned, at: datetime, v: int) -> ReviewCase:
    status = CaseStatus.returned if p.to_level is Level.village else CaseStatus.in_review
    return replace(case, **{**_moved(v, p.deadline), "sent_back": p.to_level is not Level.village},
                   status=status, level=p.to_level, arrived_at=at,
                   accepted_level=None, early_accepted_level=None,
                   last_action="returned", returns=case.returns + 1,
                   field_notes=dict(p.field_notes))


def _resubmitted(case: ReviewCase, p: CaseResubmitted, at: datetime, v: int) -> ReviewCase:
    return replace(case, **_moved(v, p.deadline), status=CaseStatus.in_review, level=p.level,
                   revision=p.revision, arrived_at=at,
                   last_action="resubmitted", field_notes={},
                   field_labels=case.field_labels if p.field_labels is None
                   else dict(p.field_labels))


def _accepted(case: ReviewCase, p: CaseAccepted, at: datetime, v: int) -> ReviewCase:
    if p.final:
        return replace(case, **_moved(v, None), status=CaseStatus.accepted, level=p.level,
                       arrived_at=at, accepted_level=p.level, last_action="accepted")
    if p.next_level is None:
        raise ValueError("early acceptance without next_level")
    return replace(case, **_moved(v, p.deadline), level=p.next_level, arrived_at=at,
                   accepted_level=p.level, early_accepted_level=p.level,
                   last_action="accepted_early")


def _reopened(case: ReviewCase, p: CaseReopened, at: datetime, v: int) -> ReviewCase:
    return replace(case, **_moved(v, p.deadline), status=CaseStatus.in_review, level=p.level,
                   arrived_at=at, accepted_level=None, last_action="reopened")


def _overdue(case: ReviewCase, p: CaseOverdue, at: datetime, v: int) -> ReviewCase:
    return replace(case, version=v, late=True)


_STEPS: dict[type[EventPayload], Step] = {
    CaseApproved: _approved,
    CaseReturned: _returned,
    CaseResubmitted: _resubmitted,
    CaseAccepted: _accepted,
    CaseReopened: _reopened,
    CaseOverdue: _overdue,
}


def _opened(p: CaseOpened, version: int, at: datetime) -> ReviewCase:
    sub = p.submission
    chain = tuple(p.chain)
    return ReviewCase(
        case_id=p.case_id, subject_kind=sub.subject_kind, subject_id=sub.subject_id,
        division_code=sub.division_code,
        task_id=str(sub.task_id) if sub.task_id else None, title=sub.title,
        revision=sub.revision, chain=chain, final_level=p.final_level or chain[-1],
        early_accept_levels=tuple(p.early_accept_levels),
        deadline_seconds={k.value: v for k, v in p.deadline_seconds.items()},
        chain_version=p.chain_version, status=CaseStatus.in_review,
        level=p.level, version=version, opened_at=at, arrived_at=at, deadline=p.deadline,
        watch_levels=tuple(p.watch_levels), field_labels=dict(sub.field_labels),
        chain_profile=p.chain_profile)
