"""报送生命周期: one submission's life, shared by every survey domain. Pure, no I/O.

draft → submitted (under review at a level) → returned to the village (editable again) or to a
lower level (still under review) → resubmitted (revision + 1) → accepted early by a level
(数据验收, read-only) → confirmed (最终确认, read-only); a reopened case is under review again.

`react(state, review_event)` is the single place deciding how a submission follows the review
chain (`workflow.case.*` payloads): it returns the new state and the outcome the domain raises
as its own event (`Returned` / `Accepted`), or None. Events about another revision than the
current one never change the state. Domains keep their own payloads and words; this module
knows only levels, revisions and the review events of gx_contracts.events.workflow.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any
from uuid import UUID

from .divisions import Level
from .events.workflow import (
    CaseAccepted,
    CaseApproved,
    CaseOpened,
    CaseReopened,
    CaseResubmitted,
    CaseReturned,
)
from .frozen import replacer

__all__ = ["Status", "SubmissionState", "Returned", "Accepted", "Outcome", "ReviewEvent", "REVIEW_EVENTS",
           "NotEditable", "EDITABLE", "READ_ONLY", "react", "save_draft", "submit",
           "revision_of"]


class Status(str, Enum):
    not_started = "not_started"  # 未填报
    draft = "draft"              # 草稿
    submitted = "submitted"      # 已报送，审核中 (at `review_level`)
    returned = "returned"        # 已退回修改 (to the village)
    accepted = "accepted"        # 已验收 (early, by `accepted_level`; a higher level confirms)
    confirmed = "confirmed"      # 已确认 (final)


EDITABLE = frozenset({Status.not_started, Status.draft, Status.returned})
READ_ONLY = frozenset({Status.accepted, Status.confirmed})

ReviewEvent = (CaseOpened | CaseApproved | CaseReturned | CaseResubmitted | CaseAccepted
               | CaseReopened)
REVIEW_EVENTS: tuple[type[ReviewEvent], ...] = (CaseOpened, CaseApproved, CaseReturned,
                                                CaseResubmitted, CaseAccepted, CaseReopened)
"""The review events a submission follows (their payload classes)."""


@dataclass(frozen=True)
class SubmissionState:
    """Where one submission stands. `approved_rank`: highest level rank that approved it."""

    status: Status = Status.not_started
    revision: int = 0  # submissions so far (the one under review is this revision)
    review_level: Level | None = None
    approved_rank: int = 0
    case_id: UUID | None = None
    accepted_level: Level | None = None
    confirmed_level: Level | None = None
    returned_from: Level | None = None  # of the last return to the village

    @property
    def editable(self) -> bool:
        return self.status in EDITABLE

    @property
    def read_only(self) -> bool:
        return self.status in READ_ONLY


_replace_state = replacer(SubmissionState)


def replace(state: Any, **changes: Any) -> Any:
    """`dataclasses.replace`, fast for a SubmissionState (gx_contracts.frozen)."""
    if type(state) is not SubmissionState:
        return dataclasses.replace(state, **changes)
    return _replace_state(state, **changes)


@dataclass(frozen=True)
class Returned:
    """Back to the submitter: the domain raises its own "returned" event."""

    case_id: UUID
    revision: int
    from_level: Level
    reason_code: str
    reason: str
    field_notes: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Accepted:
    """Accepted early (`final` False, `next_level` confirms) or confirmed (`final` True)."""

    case_id: UUID
    revision: int
    level: Level
    final: bool
    next_level: Level | None = None
    accepted_level: Level | None = None  # final: the earlier 数据验收, if any


Outcome = Returned | Accepted


class NotEditable(Exception):
    """The submission cannot be changed now; `code` is the stable machine code."""

    def __init__(self, state: SubmissionState):
        self.state = state
        self.code = "report_read_only" if state.read_only else "report_under_review"
        super().__init__(f"{self.code}: {state.status.value}")


# -- commands of the submitter -------------------------------------------------------------
def save_draft(state: SubmissionState) -> SubmissionState:
    """A saved draft; a returned submission stays `returned` (the return is still open)."""
    _require_editable(state)
    return state if state.status is Status.returned else replace(state, status=Status.draft)


def submit(state: SubmissionState, first_level: Level) -> SubmissionState:
    """Submitted (or resubmitted) as the next revision, under review at `first_level`."""
    _require_editable(state)
    return replace(state, status=Status.submitted, revision=state.revision + 1,
                   review_level=first_level, approved_rank=0)


def _require_editable(state: SubmissionState) -> None:
    if not state.editable:
        raise NotEditable(state)


# -- reactions to the review chain ---------------------------------------------------------
def concerns(subject_kind: str) -> Callable[[Any], bool]:
    """A domain consumer's `accepts`: is this review event (as received; `.data` the raw dict)
    about a submission of `subject_kind`? Other domains' cases are passed at no cost."""
    def accepts(event: Any) -> bool:
        data = event.data if isinstance(event.data, dict) else {}
        sub = data.get("submission")
        kind = sub.get("subject_kind") if isinstance(sub, dict) else data.get("subject_kind")
        return bool(kind == subject_kind)
    return accepts


def revision_of(event: ReviewEvent) -> int:
    return event.submission.revision if isinstance(event, CaseOpened) else event.revision


def react(state: SubmissionState, event: ReviewEvent) -> tuple[SubmissionState, Outcome | None]:
    """How the submission follows one review event (of its current revision only)."""
    if revision_of(event) != state.revision or state.status in (Status.not_started,
                                                                Status.draft):
        return state, None
    if isinstance(event, (CaseOpened, CaseResubmitted)):
        return replace(state, case_id=event.case_id, review_level=event.level), None
    if isinstance(event, CaseApproved):
        return replace(state, review_level=event.to_level,
                       approved_rank=max(state.approved_rank, event.from_level.rank)), None
    if isinstance(event, CaseReturned):
        return _returned(state, event)
    if isinstance(event, CaseAccepted):
        return _accepted(state, event)
    if isinstance(event, CaseReopened):
        return replace(state, status=Status.submitted, review_level=event.level,
                       approved_rank=max(event.level.rank - 1, 0), accepted_level=None,
                       confirmed_level=None), None
    return state, None


def _returned(state: SubmissionState, e: CaseReturned) -> tuple[SubmissionState, Outcome | None]:
    if e.to_level is Level.village:
        if state.status not in (Status.submitted, Status.accepted):
            return state, None
        return (replace(state, status=Status.returned, approved_rank=0, review_level=None,
                        accepted_level=None, returned_from=e.from_level),
                Returned(e.case_id, state.revision, e.from_level, e.reason_code, e.reason,
                         dict(e.field_notes)))
    # to a lower review level: approvals at or above it no longer hold, nor an early acceptance
    moved = replace(state, review_level=e.to_level,
                    approved_rank=max(min(state.approved_rank, e.to_level.rank - 1), 0))
    if state.status is Status.accepted:
        moved = replace(moved, status=Status.submitted, accepted_level=None)
    return moved, None


def _accepted(state: SubmissionState, e: CaseAccepted) -> tuple[SubmissionState, Outcome | None]:
    if not e.final:
        if state.status is not Status.submitted:
            return state, None
        return (replace(state, status=Status.accepted, accepted_level=e.level,
                        review_level=e.next_level,
                        approved_rank=max(state.approved_rank, e.level.rank)),
                Accepted(e.case_id, state.revision, e.level, False, next_level=e.next_level))
    if state.status not in (Status.submitted, Status.accepted):
        return state, None
    return (replace(state, status=Status.confirmed, confirmed_level=e.level, review_level=None,
                    approved_rank=Level.region.rank),
            Accepted(e.case_id, state.revision, e.level, True,
                     accepted_level=state.accepted_level))
