"""The 基本单位情况表 aggregate (stream ``unitform-<uuid>``): opened, saved, submitted, and
following the review chain through the shared lifecycle `gx_contracts.lifecycle` (pure).

Every state the read model shows comes from the form's own events: `follow` records each
review event as ``registry.unit_form.review_followed`` with the lifecycle state it moved to (the
decision, not a re-run of `react`), then the form's returned/accepted event; `apply` folds any
of them, so `load` from the stream and the projection (from the row before the events) agree.
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Protocol
from uuid import UUID

from gx_contracts import lifecycle as lc
from gx_contracts.divisions import Level
from gx_contracts.events import decode
from gx_contracts.events.base import EventPayload, Submission, event_fields
from gx_contracts.events.registry import (
    SUBJECT_KIND,
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
from gx_contracts.ids import stream_id
from gx_contracts.lifecycle import Status, SubmissionState
from gx_kernel.eventstore import NewEvent

FIRST_LEVEL = Level.township  # chains.json registry.unit_form: township -> county (final)
OWN_EVENTS = (UnitFormOpened, UnitFormDraftSaved, UnitFormSubmitted, UnitFormReviewFollowed,
              UnitFormReturned, UnitFormAccepted, UnitFormHistoryAdopted)
EVENT_TYPES = tuple(t.EVENT_TYPE for t in OWN_EVENTS)


class Recorded(Protocol):
    type: str
    schema_version: int
    data: dict[str, Any]


def standing(s: SubmissionState) -> UnitFormStanding:
    return UnitFormStanding(status=s.status.value, revision=s.revision,
                            review_level=s.review_level, approved_rank=s.approved_rank,
                            case_id=s.case_id, accepted_level=s.accepted_level,
                            confirmed_level=s.confirmed_level, returned_from=s.returned_from)


def state_of(m: UnitFormStanding) -> SubmissionState:
    return SubmissionState(status=Status(m.status), revision=m.revision,
                           review_level=m.review_level, approved_rank=m.approved_rank,
                           case_id=m.case_id, accepted_level=m.accepted_level,
                           confirmed_level=m.confirmed_level, returned_from=m.returned_from)


@dataclass
class UnitForm:
    form_id: UUID
    village_code: str = ""
    form_version: int = 0
    unit_id: UUID | None = None
    task_id: UUID | None = None
    round_id: UUID | None = None
    values: dict[str, Any] = field(default_factory=dict)
    explanations: dict[str, str] = field(default_factory=dict)
    location: Location | None = None
    state: SubmissionState = field(default_factory=SubmissionState)
    return_reason: str | None = None
    version: int = 0  # stream version as loaded: the expected version of the next append
    pending_events: list[NewEvent] = field(default_factory=list)

    @property
    def stream_id(self) -> str:
        return stream_id("unitform", self.form_id)

    @property
    def opened(self) -> bool:
        return bool(self.village_code)

    # -- commands of the coordinator --------------------------------------------------------
    @classmethod
    def open(cls, form_id: UUID, village_code: str, form_version: int, *,
             unit_id: UUID | None = None, task_id: UUID | None = None,
             round_id: UUID | None = None, values: Mapping[str, Any] | None = None) -> UnitForm:
        form = cls(form_id)
        form._raise(UnitFormOpened(form_id=form_id, unit_id=unit_id, task_id=task_id,
                                   round_id=round_id, village_code=village_code,
                                   form_version=form_version, values=dict(values or {})))
        return form

    def save_draft(self, values: Mapping[str, Any], explanations: Mapping[str, str],
                   location: Location | None) -> None:
        lc.save_draft(self.state)  # NotEditable before anything is raised
        self._raise(UnitFormDraftSaved(
            form_id=self.form_id, unit_id=self.unit_id, village_code=self.village_code,
            form_version=self.form_version, values=dict(values),
            explanations=dict(explanations), location=location or self.location,
            revision=max(self.state.revision, 1)))

    def submit(self, title: str, labels: dict[str, str], warnings: list[dict[str, str]]) -> None:
        lc.submit(self.state, FIRST_LEVEL)
        revision = self.state.revision + 1
        self._raise(UnitFormSubmitted(
            form_id=self.form_id, unit_id=self.unit_id, task_id=self.task_id,
            village_code=self.village_code, form_version=self.form_version, values=self.values,
            explanations=self.explanations, location=self.location, warnings=warnings,
            revision=revision, submission=Submission(
                subject_kind=SUBJECT_KIND, subject_id=str(self.form_id),
                division_code=self.village_code, task_id=self.task_id,
                revision=revision, title=title[:200], field_labels=labels)))

    # -- reactions to the review chain -------------------------------------------------------
    def follow(self, review: lc.ReviewEvent, step: UnitFormReviewStep) -> lc.Outcome | None:
        """Record the review event (and the state it moved the form to), then the form's own
        returned/accepted event for its outcome."""
        before = self.state
        new, outcome = lc.react(before, review)
        self._raise(UnitFormReviewFollowed(form_id=self.form_id, review=step,
                                           moved=standing(new) if new != before else None))
        if isinstance(outcome, lc.Returned):
            self._raise(UnitFormReturned(form_id=self.form_id, case_id=outcome.case_id,
                                         revision=outcome.revision, from_level=outcome.from_level,
                                         reason_code=outcome.reason_code, reason=outcome.reason))
        elif isinstance(outcome, lc.Accepted):
            self._raise(UnitFormAccepted(form_id=self.form_id, case_id=outcome.case_id,
                                         revision=outcome.revision, level=outcome.level,
                                         final=outcome.final))
        return outcome

    # -- state -----------------------------------------------------------------------------
    def apply(self, e: EventPayload) -> None:
        s = self.state
        if isinstance(e, UnitFormOpened):
            self.village_code, self.form_version = e.village_code, e.form_version
            self.unit_id, self.task_id, self.round_id = e.unit_id, e.task_id, e.round_id
            self.values = dict(e.values)
        elif isinstance(e, UnitFormDraftSaved):
            self._body(e)
            self.state = s if s.status is Status.returned else replace(s, status=Status.draft)
        elif isinstance(e, UnitFormSubmitted):
            self._body(e)
            self.task_id = e.task_id or self.task_id
            self.state = replace(s, status=Status.submitted, revision=e.revision,
                                 review_level=FIRST_LEVEL, approved_rank=0)
        elif isinstance(e, UnitFormReviewFollowed):
            if e.moved is not None:  # the lifecycle's decision, as recorded
                self.state = state_of(e.moved)
        elif isinstance(e, UnitFormReturned):
            self.return_reason = e.reason
        elif isinstance(e, UnitFormHistoryAdopted):
            self._body(e)
            self.task_id, self.state = e.task_id, state_of(e.standing)
            self.return_reason = e.return_reason
        # accepted: the state moved with the review_followed before it

    def _body(self, e: UnitFormDraftSaved | UnitFormSubmitted | UnitFormHistoryAdopted) -> None:
        self.village_code, self.form_version = e.village_code, e.form_version
        self.unit_id = e.unit_id or self.unit_id
        self.values, self.explanations = dict(e.values), dict(e.explanations)
        self.location = e.location or self.location

    @classmethod
    def replay(cls, head: UnitForm, events: Iterable[EventPayload]) -> UnitForm:
        for e in events:
            head.apply(e)
            head.version += 1
        return head

    @classmethod
    def load(cls, form_id: UUID, stream: Iterable[Recorded]) -> UnitForm:
        """From its stored stream, each event decoded through the contracts (typed payload,
        upcast from the version it was stored with)."""
        return cls.replay(cls(form_id), (decode(e.type, e.schema_version, e.data) for e in stream))

    def _raise(self, payload: EventPayload) -> None:
        self.apply(payload)
        self.pending_events.append(NewEvent(**event_fields(payload)))

    # -- the read model row ------------------------------------------------------------------
    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> UnitForm:
        """From its read-model row: the state the projection folds the next events onto."""
        loc = _j(row.get("location"))
        st = SubmissionState(
            status=Status(row["status"]), revision=row["revision"],
            review_level=_level(row.get("review_level")),
            approved_rank=int(row.get("approved_rank") or 0), case_id=row.get("case_id"),
            accepted_level=_level(row.get("accepted_level")),
            confirmed_level=_level(row.get("confirmed_level")),
            returned_from=_level(row.get("return_from_level")))
        return cls(row["form_id"], row["village_code"], row["form_version"], row.get("unit_id"),
                   row.get("task_id"), row.get("round_id"), dict(_j(row["vals"]) or {}),
                   dict(_j(row["explanations"]) or {}),
                   Location.model_validate(loc) if loc else None, st, row.get("return_reason"),
                   row["version"])

    def row(self) -> dict[str, Any]:
        """The read-model row (jsonb columns as JSON text)."""
        s = self.state
        return {"form_id": self.form_id, "unit_id": self.unit_id, "task_id": self.task_id,
                "round_id": self.round_id, "village_code": self.village_code,
                "form_version": self.form_version,
                "vals": json.dumps(self.values, ensure_ascii=False),
                "explanations": json.dumps(self.explanations, ensure_ascii=False),
                "location": self.location.model_dump_json() if self.location else None,
                "status": s.status.value, "revision": s.revision,
                "review_level": s.review_level.value if s.review_level else None,
                "approved_rank": s.approved_rank, "case_id": s.case_id,
                "accepted_level": s.accepted_level.value if s.accepted_level else None,
                "confirmed_level": s.confirmed_level.value if s.confirmed_level else None,
                "return_reason": self.return_reason,
                "return_from_level": s.returned_from.value if s.returned_from else None,
                "version": self.version}


def _level(v: str | None) -> Level | None:
    return Level(v) if v else None


def _j(v: Any) -> Any:
    return json.loads(v) if isinstance(v, str) else v


__all__ = ["UnitForm", "FIRST_LEVEL", "OWN_EVENTS", "EVENT_TYPES", "standing", "state_of"]
