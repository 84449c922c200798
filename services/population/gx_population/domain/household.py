"""住户 (one household's registration) as an event-sourced aggregate on the shared lifecycle.

registering (调查员登记, editable) → read-back confirmed for the current content (回读确认)
→ handed in (交表, waiting for the village coordinator's re-check 村级复核) → re-check passed:
submitted to the chain (township → county → region through the workflow service) or returned
to the enumerator. A return from the chain makes it editable again (a new read-back is needed
before it is handed in again). Pure: identifying fields arrive here already sealed.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any
from uuid import UUID

from gx_contracts import lifecycle as lc
from gx_contracts.divisions import Level
from gx_contracts.events.base import EventPayload, Submission, event_fields
from gx_contracts.events.population import (
    SUBJECT_KIND,
    HouseholdAccepted,
    HouseholdDraftSaved,
    HouseholdHandedIn,
    HouseholdHistoryAdopted,
    HouseholdReadBackConfirmed,
    HouseholdRecheckReturned,
    HouseholdReturned,
    HouseholdReviewFollowed,
    HouseholdSubmitted,
    PersonEntry,
    PersonErased,
    PopulationLifecycleSnapshot,
    PopulationReviewStep,
)
from gx_contracts.ids import stream_id
from gx_contracts.lifecycle import Status, SubmissionState
from gx_kernel.eventstore import NewEvent

FIRST_REVIEW_LEVEL = Level.township  # after the village's own re-check
REGISTERING, HANDED_IN, IN_CHAIN = "registering", "handed_in", "in_chain"
STATUS_ZH = {"draft": "登记中", "handed_in": "已交表，待村级复核", "submitted": "审核中",
             "returned": "已退回修改", "accepted": "已验收", "confirmed": "自治区已确认",
             "not_started": "未登记"}


class HouseholdRuleError(Exception):
    """A command that the household's stage does not allow: `code` + Chinese message."""

    def __init__(self, code: str, message: str, status: int = 409):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


@dataclass
class Household:
    household_id: UUID
    area_id: UUID
    area_code: str
    village_code: str
    survey_year: int
    household_no: str
    enumerator: str
    state: SubmissionState = field(default_factory=SubmissionState)
    stage: str = REGISTERING
    version: int = 0
    draft_version: int = 0
    readback_version: int | None = None
    person_count: int = 0
    blocking: int = 0  # error findings of the current content
    pending_events: list[NewEvent] = field(default_factory=list)

    @property
    def stream_id(self) -> str:
        return stream_id("household", self.household_id)

    @property
    def status(self) -> str:
        return HANDED_IN if self.stage == HANDED_IN else self.state.status.value

    @property
    def editable(self) -> bool:
        return self.stage == REGISTERING and self.state.editable

    # -- commands of the enumerator --------------------------------------------------------
    def save(self, *, form_version: str, household: Mapping[str, Any],
             persons: Sequence[PersonEntry], blocking: int) -> None:
        self._require_editable()
        self._raise(HouseholdDraftSaved(
            household_id=self.household_id, area_id=self.area_id, area_code=self.area_code,
            village_code=self.village_code, survey_year=self.survey_year,
            form_version=form_version, household=dict(household), persons=list(persons),
            enumerator=self.enumerator))
        self.blocking = blocking

    def confirm_readback(self, *, at: dt.datetime, enumerator: str, device: str | None,
                         respondent: str, received_at: dt.datetime | None = None,
                         readback_digest: str | None = None) -> None:
        """`at`: when the respondent confirmed (the phone's time); `received_at`: when the
        server got it; `readback_digest`: the keyed digest of the text read back, whose plain
        SHA-256 was checked against the draft already."""
        self._require_editable()
        if self.draft_version == 0:
            raise HouseholdRuleError("nothing_to_read_back", "住户表尚未保存，无可回读的内容")
        self._raise(HouseholdReadBackConfirmed(
            household_id=self.household_id, draft_version=self.draft_version, confirmed_at=at,
            enumerator=enumerator, device=device, respondent=respondent,
            received_at=received_at, readback_digest=readback_digest))

    def hand_in(self) -> None:
        self._require_editable()
        if self.readback_version is None or self.readback_version != self.draft_version:
            raise HouseholdRuleError(
                "read_back_required", "提交前须向被调查人回读全部登记内容并记录其确认"
                "（回读后又修改过的，须重新回读）", 422)
        if self.blocking:
            raise HouseholdRuleError("validation_blocked",
                                     f"住户表有{self.blocking}项错误未改正，不能交表", 422)
        self._raise(HouseholdHandedIn(household_id=self.household_id,
                                      revision=self.state.revision + 1,
                                      person_count=self.person_count))

    # -- the village coordinator's re-check -----------------------------------------------
    def recheck_return(self, reason: str, field_notes: Mapping[str, str]) -> None:
        self._require_handed_in()
        self._raise(HouseholdRecheckReturned(household_id=self.household_id, reason=reason,
                                             field_notes=dict(field_notes)))

    def recheck_pass(self, *, title: str, field_labels: Mapping[str, str],
                     rechecked_by: str) -> None:
        self._require_handed_in()
        revision = self.state.revision + 1
        self._raise(HouseholdSubmitted(
            household_id=self.household_id, survey_area_code=self.area_code,
            village_code=self.village_code, person_count=self.person_count, revision=revision,
            survey_year=self.survey_year, rechecked_by=rechecked_by,
            submission=Submission(subject_kind=SUBJECT_KIND, subject_id=str(self.household_id),
                                  division_code=self.village_code, revision=revision,
                                  title=title[:200], field_labels=dict(field_labels))))

    # -- the region's erasure ---------------------------------------------------------------
    def erase_person(self, person_id: UUID, reason_code: str, erased_by: str) -> None:
        self._raise(PersonErased(household_id=self.household_id, person_id=person_id,
                                 reason_code=reason_code, erased_by=erased_by))

    # -- following the review chain -------------------------------------------------------
    def follow(self, event: lc.ReviewEvent, step: PopulationReviewStep) -> None:
        """Record the review event followed (`review_followed`, with the lifecycle state if it
        moved), then the household's own returned/accepted event for its outcome."""
        before = self.state
        new, outcome = lc.react(before, event)
        self._raise(HouseholdReviewFollowed(household_id=self.household_id, review=step,
                                            moved=snapshot(new) if new != before else None))
        if isinstance(outcome, lc.Returned):
            self._raise(HouseholdReturned(
                household_id=self.household_id, case_id=outcome.case_id,
                revision=outcome.revision, from_level=outcome.from_level,
                reason_code=outcome.reason_code, reason=outcome.reason[:1000],
                field_notes={k: v[:500] for k, v in outcome.field_notes.items()}))
        elif isinstance(outcome, lc.Accepted):
            self._raise(HouseholdAccepted(
                household_id=self.household_id, case_id=outcome.case_id,
                revision=outcome.revision, level=outcome.level, final=outcome.final,
                next_level=outcome.next_level))

    # -- evolving ---------------------------------------------------------------------------
    def _require_editable(self) -> None:
        if self.stage == HANDED_IN:
            raise HouseholdRuleError("household_handed_in", "住户表已交表，待村级复核，不能修改")
        if not self.state.editable:
            raise HouseholdRuleError(
                "household_read_only" if self.state.read_only else "household_under_review",
                "住户表已验收，只读" if self.state.read_only else "住户表正在审核中，不能修改")

    def _require_handed_in(self) -> None:
        if self.stage != HANDED_IN:
            raise HouseholdRuleError("household_not_handed_in", "住户表尚未交表，不能复核")

    def _raise(self, payload: EventPayload) -> None:
        self.pending_events.append(NewEvent(**event_fields(payload)))
        self.apply(payload, self.version + len(self.pending_events))

    def apply(self, e: EventPayload, at_version: int) -> None:
        """The state after `e`, the household stream's event number `at_version`."""
        s = self.state
        if isinstance(e, HouseholdDraftSaved):
            self.draft_version, self.person_count = at_version, len(e.persons)
            if s.status is Status.not_started:
                self.state = replace(s, status=Status.draft)
        elif isinstance(e, HouseholdReadBackConfirmed):
            self.readback_version = e.draft_version
        elif isinstance(e, HouseholdHandedIn):
            self.stage = HANDED_IN
        elif isinstance(e, HouseholdRecheckReturned):
            self.stage, self.readback_version = REGISTERING, None
        elif isinstance(e, HouseholdSubmitted):
            self.stage = IN_CHAIN
            self.state = replace(lc.submit(replace(s, status=Status.draft), FIRST_REVIEW_LEVEL),
                                 revision=e.revision)
        elif isinstance(e, HouseholdReviewFollowed) and e.moved is not None:
            self.state = state_of(e.moved)
        elif isinstance(e, HouseholdReturned):
            self.stage, self.readback_version = REGISTERING, None
            self.state = replace(s, status=Status.returned, approved_rank=0, review_level=None,
                                 accepted_level=None, returned_from=e.from_level)
        elif isinstance(e, HouseholdAccepted) and not e.final:
            self.state = replace(s, status=Status.accepted, accepted_level=e.level,
                                 review_level=e.next_level,
                                 approved_rank=max(s.approved_rank, e.level.rank))
        elif isinstance(e, HouseholdAccepted):
            self.state = replace(s, status=Status.confirmed, confirmed_level=e.level,
                                 review_level=None, approved_rank=Level.region.rank)
        elif isinstance(e, HouseholdHistoryAdopted):  # the row as it stood (migration 0005)
            self.stage, self.state = e.stage, state_of(e.standing)
            self.draft_version, self.readback_version = e.draft_version, e.readback_version
            self.person_count = len(e.persons)

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Household:
        lv = _level
        state = SubmissionState(
            status=Status(row["status"]) if row["status"] != HANDED_IN else Status.draft,
            revision=row["revision"], review_level=lv(row.get("review_level")),
            approved_rank=row["approved_rank"], case_id=row.get("case_id"),
            accepted_level=lv(row.get("accepted_level")),
            confirmed_level=lv(row.get("confirmed_level")),
            returned_from=lv(row.get("return_from_level")))
        findings = row.get("findings") or []
        return cls(row["household_id"], row["area_id"], row["area_code"], row["village_code"],
                   row["survey_year"], row["household_no"], row["enumerator"], state,
                   row["stage"], row["version"], row["draft_version"], row["readback_version"],
                   row["person_count"],
                   sum(1 for f in findings if f.get("severity") == "error"))


def _level(value: str | None) -> Level | None:
    return Level(value) if value else None


def snapshot(st: SubmissionState) -> PopulationLifecycleSnapshot:
    return PopulationLifecycleSnapshot(
        status=st.status.value, revision=st.revision, review_level=st.review_level,
        approved_rank=st.approved_rank, case_id=st.case_id, accepted_level=st.accepted_level,
        confirmed_level=st.confirmed_level, returned_from=st.returned_from)


def state_of(m: PopulationLifecycleSnapshot) -> SubmissionState:
    return SubmissionState(status=Status(m.status), revision=m.revision,
                           review_level=m.review_level, approved_rank=m.approved_rank,
                           case_id=m.case_id, accepted_level=m.accepted_level,
                           confirmed_level=m.confirmed_level, returned_from=m.returned_from)


def review_step(event_id: UUID, event_type: str, at: dt.datetime, data: Mapping[str, Any],
                actor_name: str | None) -> PopulationReviewStep:
    """The review step as people read it, from a review event as received."""
    level = data.get("level") or data.get("from_level")
    comment = data.get("comment") or data.get("reason")
    return PopulationReviewStep(event_id=event_id, type=event_type, at=at,
                                actor_name=(actor_name or None) and str(actor_name)[:100],
                                level=Level(level) if level in Level._value2member_map_ else None,
                                comment=str(comment)[:1000] if comment else None)
