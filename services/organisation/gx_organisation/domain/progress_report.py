"""改革工作推进情况报告: a county's progress report as an aggregate on the shared lifecycle.

Pure, no I/O. One report per county and due date (7/15, 9/15, 12/10 of the reform's year);
it climbs county → city → region through the workflow service (subject kind
``organisation.progress_report``); `follow` reacts to review events through
`gx_contracts.lifecycle.react` and raises the report's own returned/accepted event.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any
from uuid import UUID, uuid5

from gx_contracts import lifecycle as lc
from gx_contracts.divisions import Level
from gx_contracts.events.base import EventPayload, Submission, event_fields
from gx_contracts.events.organisation import (
    SUBJECT_KIND,
    Attachment,
    LifecycleSnapshot,
    ProgressReportAccepted,
    ProgressReportDraftSaved,
    ProgressReportReturned,
    ProgressReportReviewFollowed,
    ProgressReportReviewStep,
    ProgressReportSubmitted,
)
from gx_contracts.ids import GXSTAT_NAMESPACE, stream_id
from gx_contracts.lifecycle import Status, SubmissionState
from gx_kernel.eventstore import NewEvent

FIRST_REVIEW_LEVEL = Level.county  # 县统计局审核报出，再报市、自治区
STATUS_ZH = {"not_started": "未填报", "draft": "草稿", "submitted": "已报送，审核中",
             "returned": "已退回修改", "accepted": "已验收", "confirmed": "自治区已验收"}
SECTIONS_ZH = {"progress": "工作进展", "measures": "主要做法", "problems": "存在问题",
               "next_steps": "下一步工作", "documents": "出台文件情况"}
FIGURES_ZH = {"townships_total": "乡镇（街道）总数", "townships_with_office": "已设立统计工作办公室的乡镇",
              "staff_dispatched": "派驻人员", "staff_full_time": "专职人员",
              "staff_purchased": "购买服务人员", "staff_part_time": "兼职人员",
              "villages_total": "村（社区）总数", "villages_with_coordinator": "已聘任统计协管员的村",
              "grid_workers": "参与统计工作的网格员", "trained_people": "已培训人数"}


def report_id_for(county_code: str, due: date) -> UUID:
    """One report per county and due date."""
    return uuid5(uuid5(GXSTAT_NAMESPACE, SUBJECT_KIND), f"{county_code}/{due.isoformat()}")


@dataclass
class ProgressReport:
    """推进情况报告."""

    report_id: UUID
    year: int
    due_date: date
    county_code: str
    state: SubmissionState = field(default_factory=SubmissionState)
    version: int = 0
    sections: dict[str, str] = field(default_factory=dict)
    figures: dict[str, int] = field(default_factory=dict)
    attachments: list[Attachment] = field(default_factory=list)
    pending_events: list[NewEvent] = field(default_factory=list)

    @property
    def stream_id(self) -> str:
        return stream_id("progress", self.report_id)

    @property
    def status(self) -> str:
        return self.state.status.value

    def _body(self) -> dict[str, Any]:
        return {"report_id": self.report_id, "year": self.year, "due_date": self.due_date,
                "county_code": self.county_code, "sections": self.sections,
                "figures": self.figures, "attachments": self.attachments}

    # -- commands of the county ------------------------------------------------------------
    def save_draft(self, sections: dict[str, str], figures: dict[str, int],
                   attachments: list[Attachment]) -> None:
        lc.save_draft(self.state)  # NotEditable before anything is raised
        self._raise(ProgressReportDraftSaved(**{**self._body(), "sections": sections,
                                                "figures": figures,
                                                "attachments": attachments}))

    def submit(self, *, title: str, today: date) -> None:
        lc.submit(self.state, FIRST_REVIEW_LEVEL)
        revision = self.state.revision + 1
        self._raise(ProgressReportSubmitted(
            **self._body(), revision=revision, late=today > self.due_date,
            submission=Submission(subject_kind=SUBJECT_KIND, subject_id=str(self.report_id),
                                  division_code=self.county_code, revision=revision,
                                  title=title[:200])))

    # -- reactions to the review chain -----------------------------------------------------
    def follow(self, event: EventPayload, step: ProgressReportReviewStep) -> None:
        """Follow one review-chain event: record it (`review_followed`, with the lifecycle
        state if it moved), then the report's own returned/accepted event for its outcome.
        Events the lifecycle does not follow (overdue) are history only."""
        before = self.state
        new, outcome = (lc.react(before, event) if isinstance(event, lc.REVIEW_EVENTS)
                        else (before, None))
        self._raise(ProgressReportReviewFollowed(
            report_id=self.report_id, review=step,
            moved=snapshot(new) if new != before else None))
        if isinstance(outcome, lc.Returned):
            self._raise(ProgressReportReturned(
                report_id=self.report_id, case_id=outcome.case_id, revision=outcome.revision,
                from_level=outcome.from_level, reason_code=outcome.reason_code,
                reason=outcome.reason[:1000], field_notes=dict(outcome.field_notes)))
        elif isinstance(outcome, lc.Accepted):
            self._raise(ProgressReportAccepted(
                report_id=self.report_id, case_id=outcome.case_id, revision=outcome.revision,
                level=outcome.level, final=outcome.final))

    # -- evolving ----------------------------------------------------------------------------
    def _raise(self, payload: EventPayload) -> None:
        self.pending_events.append(NewEvent(**event_fields(payload)))
        self.apply(payload)

    def apply(self, event: EventPayload) -> None:
        s = self.state
        if isinstance(event, ProgressReportDraftSaved):
            self.sections, self.figures = dict(event.sections), dict(event.figures)
            self.attachments = list(event.attachments)
            self.state = s if s.status is Status.returned else replace(s, status=Status.draft)
        elif isinstance(event, ProgressReportSubmitted):
            self.state = replace(lc.submit(replace(s, status=Status.draft), FIRST_REVIEW_LEVEL),
                                 revision=event.revision)
        elif isinstance(event, ProgressReportReviewFollowed) and event.moved is not None:
            self.state = state_of(event.moved)
        # returned/accepted: the state moved with the review_followed before them; the
        # version moves when the unit of work has appended the pending events

    @classmethod
    def from_row(cls, row: Any) -> ProgressReport:
        state = SubmissionState(
            status=Status(row["status"]), revision=row["revision"],
            review_level=_level(row["review_level"]), approved_rank=row["approved_rank"],
            case_id=row["case_id"], accepted_level=_level(row["accepted_level"]),
            confirmed_level=_level(row["confirmed_level"]), returned_from=_level(row["returned_from"]))
        return cls(report_id=row["report_id"], year=row["year"], due_date=row["due_date"],
                   county_code=row["county_code"], state=state, version=row["version"],
                   sections=dict(row["sections"]), figures=dict(row["figures"]),
                   attachments=[Attachment.model_validate(a) for a in row["attachments"]])


def _level(v: str | None) -> Level | None:
    return Level(v) if v else None


def snapshot(st: SubmissionState) -> LifecycleSnapshot:
    return LifecycleSnapshot(status=st.status.value, revision=st.revision,
                             review_level=st.review_level, approved_rank=st.approved_rank,
                             case_id=st.case_id, accepted_level=st.accepted_level,
                             confirmed_level=st.confirmed_level, returned_from=st.returned_from)


def state_of(m: LifecycleSnapshot) -> SubmissionState:
    return SubmissionState(status=Status(m.status), revision=m.revision,
                           review_level=m.review_level, approved_rank=m.approved_rank,
                           case_id=m.case_id, accepted_level=m.accepted_level,
                           confirmed_level=m.confirmed_level, returned_from=m.returned_from)
