"""农业报表: its states and permissions, and the report aggregate (pure, no I/O)."""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from uuid import UUID

from gx_contracts import lifecycle as lc
from gx_contracts.divisions import Level
from gx_contracts.events import decode
from gx_contracts.events.agri import (
    SUBJECT_KIND,
    ReportAccepted,
    ReportDraftSaved,
    ReportHistoryAdopted,
    ReportReturned,
    ReportReviewFollowed,
    ReportStanding,
    ReportSubmitted,
    ReviewStep,
)
from gx_contracts.events.base import EventPayload, Submission, event_fields
from gx_contracts.ids import stream_id
from gx_contracts.lifecycle import Status, SubmissionState, replace
from gx_kernel.eventstore import NewEvent

NOT_STARTED, DRAFT, SUBMITTED, RETURNED, ACCEPTED, CONFIRMED = (
    Status.not_started.value, Status.draft.value, Status.submitted.value,
    Status.returned.value, Status.accepted.value, Status.confirmed.value)
FIRST_REVIEW_LEVEL = Level.township  # a village's report goes to its township first
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


OWN_EVENTS: tuple[type[EventPayload], ...] = (
    ReportDraftSaved, ReportSubmitted, ReportReturned, ReportAccepted, ReportReviewFollowed,
    ReportHistoryAdopted)
"""The payloads of a report's own stream (each is one version of it)."""


class Recorded(Protocol):
    """What `Report.load` needs of a stored event (StoredEvent fits)."""

    @property
    def type(self) -> str: ...
    @property
    def schema_version(self) -> int: ...
    @property
    def data(self) -> dict[str, Any]: ...


def status_zh(row: Mapping[str, Any]) -> str:
    """已验收（乡镇） / 自治区已确认 …: the status with the level that accepted or confirmed."""
    text = str(STATUS_ZH.get(row["status"], row["status"]))
    if row["status"] == ACCEPTED and row["accepted_level"]:
        return f"{text}（{Level(row['accepted_level']).label_zh}）"
    if row["status"] == CONFIRMED and row["confirmed_level"] not in (None, Level.region.value):
        return f"{Level(row['confirmed_level']).label_zh}已确认"
    return text


# -- the report as an event-sourced aggregate on the shared lifecycle --------------------------
@dataclass(frozen=True)
class LastReturn:
    """退回信息 of the last return to the village (kept until the next return)."""

    reason_code: str
    reason: str
    from_level: Level
    field_notes: dict[str, str]


@dataclass
class Report:
    """农业报表: one village's report of a task. Commands and reactions raise events into
    `pending_events` (the unit of work appends them at `version`); `apply` evolves the state
    from an event, its own or a review event it follows (the lifecycle decides)."""

    report_id: UUID
    task_id: UUID
    village_code: str
    form_code: str
    form_version: int
    period: str
    state: SubmissionState = field(default_factory=SubmissionState)
    version: int = 0
    values: dict[str, Any] = field(default_factory=dict)
    explanations: dict[str, str] = field(default_factory=dict)
    last_return: LastReturn | None = None
    pending_events: list[NewEvent] = field(default_factory=list)

    @property
    def stream_id(self) -> str:
        return stream_id("report", self.report_id)

    @property
    def status(self) -> str:
        return self.state.status.value

    # -- commands ------------------------------------------------------------------------
    def save_draft(self, values: dict[str, Any], explanations: dict[str, str]) -> None:
        lc.save_draft(self.state)  # NotEditable before anything is raised
        self._raise(ReportDraftSaved(
            report_id=self.report_id, task_id=self.task_id, village_code=self.village_code,
            values=values, explanations=explanations, revision=max(self.state.revision, 1)))

    def submit(self, *, title: str, field_labels: dict[str, str], note_answers: dict[str, str],
               changed: list[str]) -> None:
        lc.submit(self.state, FIRST_REVIEW_LEVEL)
        revision = self.state.revision + 1
        self._raise(ReportSubmitted(
            report_id=self.report_id, task_id=self.task_id, form_code=self.form_code,
            form_version=self.form_version, period=self.period, village_code=self.village_code,
            values=self.values, explanations=self.explanations, revision=revision,
            note_answers=note_answers, changed=changed,
            submission=Submission(subject_kind=SUBJECT_KIND, subject_id=str(self.report_id),
                                  division_code=self.village_code, task_id=self.task_id,
                                  revision=revision, title=title[:200],
                                  field_labels=field_labels)))

    # -- reactions -----------------------------------------------------------------------
    def follow(self, event: EventPayload, keep_note: Callable[[str], bool],
               step: ReviewStep) -> None:
        """Follow one review-chain event: raise `ReportReviewFollowed` (its history, and the
        lifecycle state if it moved), then, for a return to the village or an acceptance, the
        report's own returned/accepted event (`keep_note`: is this a note on one of the form's
        indicators). Events the lifecycle does not follow (overdue) are history only."""
        before = self.state
        new, outcome = (lc.react(before, event) if isinstance(event, lc.REVIEW_EVENTS)
                        else (before, None))
        self._raise(ReportReviewFollowed(report_id=self.report_id, review=step,
                                         moved=standing(new) if new != before else None))
        if isinstance(outcome, lc.Returned):
            notes = {k: v[:500] for k, v in outcome.field_notes.items() if keep_note(k)}
            self._raise(ReportReturned(
                report_id=self.report_id, case_id=outcome.case_id, revision=outcome.revision,
                from_level=outcome.from_level, reason_code=outcome.reason_code,
                reason=outcome.reason[:1000], field_notes=notes))
        elif isinstance(outcome, lc.Accepted):
            self._raise(ReportAccepted(
                report_id=self.report_id, case_id=outcome.case_id, revision=outcome.revision,
                level=outcome.level, final=outcome.final, next_level=outcome.next_level,
                accepted_level=outcome.accepted_level))

    # -- evolving ------------------------------------------------------------------------
    def _raise(self, payload: EventPayload) -> None:
        self.pending_events.append(NewEvent(**event_fields(payload)))
        self.apply(payload)

    def apply(self, event: EventPayload) -> None:
        """The state after `event` (own events; review events through the lifecycle)."""
        s = self.state
        if isinstance(event, ReportDraftSaved):
            self.values, self.explanations = dict(event.values), dict(event.explanations)
            self.state = s if s.status is Status.returned else replace(s, status=Status.draft)
        elif isinstance(event, ReportSubmitted):
            self.state = replace(lc.submit(replace(s, status=Status.draft), FIRST_REVIEW_LEVEL),
                                 revision=event.revision)
        elif isinstance(event, ReportReturned):
            self.last_return = LastReturn(event.reason_code, event.reason, event.from_level,
                                          dict(event.field_notes))
            self.state = replace(s, status=Status.returned, approved_rank=0, review_level=None,
                                 accepted_level=None, returned_from=event.from_level)
        elif isinstance(event, ReportAccepted) and not event.final:
            self.state = replace(s, status=Status.accepted, accepted_level=event.level,
                                 review_level=event.next_level,
                                 approved_rank=max(s.approved_rank, event.level.rank))
        elif isinstance(event, ReportAccepted):
            self.state = replace(s, status=Status.confirmed, confirmed_level=event.level,
                                 review_level=None, approved_rank=Level.region.rank)
        elif isinstance(event, ReportReviewFollowed):
            if event.moved is not None:  # the lifecycle's decision, as recorded
                self.state = state_of(event.moved)
        elif isinstance(event, ReportHistoryAdopted):
            self.state = state_of(event.standing)
        elif isinstance(event, lc.REVIEW_EVENTS):  # a review event itself (tests, old callers)
            self.state, _ = lc.react(s, event)

    @classmethod
    def replay(cls, head: Report, events: Iterable[EventPayload]) -> Report:
        """`head` (a fresh report) after `events` in order: its own and the review events."""
        for event in events:
            head.apply(event)
            if isinstance(event, OWN_EVENTS):
                head.version += 1
        return head

    @classmethod
    def load(cls, head: Report, stream: Iterable[Recorded]) -> Report:
        """`head` after its stored stream, each event decoded through the contracts (typed
        payload, upcast from the version it was stored with)."""
        return cls.replay(head, (decode(e.type, e.schema_version, e.data) for e in stream))

    def head(self) -> Report:
        """A fresh report with this one's identity (task, village, form, period)."""
        return Report(self.report_id, self.task_id, self.village_code, self.form_code,
                      self.form_version, self.period)

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Report:
        """From its read-model row: the state the projection folds the next events onto
        (commands and reactions load from the stream, `load(from_row(row).head(), …)`)."""
        level = _level
        last = None
        if row.get("return_reason_code"):
            last = LastReturn(row["return_reason_code"], row.get("return_reason") or "",
                              Level(row["return_from_level"]), dict(row.get("field_notes") or {}))
        state = SubmissionState(
            status=Status(row["status"]), revision=row["revision"],
            review_level=level(row.get("review_level")), approved_rank=row["approved_rank"],
            case_id=row.get("case_id"), accepted_level=level(row.get("accepted_level")),
            confirmed_level=level(row.get("confirmed_level")),
            returned_from=level(row.get("return_from_level")))
        return cls(row["report_id"], row["task_id"], row["village_code"], row["form_code"],
                   row["form_version"], row["period"], state, row["version"],
                   dict(row.get("vals") or {}), dict(row.get("explanations") or {}), last)


def _level(value: str | None) -> Level | None:
    return Level(value) if value else None


def standing(state: SubmissionState) -> ReportStanding:
    """The lifecycle state as recorded in the report's events."""
    return ReportStanding(
        status=state.status.value, revision=state.revision, review_level=state.review_level,
        approved_rank=state.approved_rank, case_id=state.case_id,
        accepted_level=state.accepted_level, confirmed_level=state.confirmed_level,
        returned_from=state.returned_from)


def state_of(recorded: ReportStanding) -> SubmissionState:
    return SubmissionState(
        status=Status(recorded.status), revision=recorded.revision,
        review_level=recorded.review_level, approved_rank=recorded.approved_rank,
        case_id=recorded.case_id, accepted_level=recorded.accepted_level,
        confirmed_level=recorded.confirmed_level, returned_from=recorded.returned_from)
