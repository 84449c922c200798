"""调查小区核实更正 (a sample area's correction) as a submission on the shared lifecycle.

The village coordinator's correction of an area — boundary description, building list, name,
code or urban–rural attribute — is a submission: it climbs the review chain (subject kind
``population.area_correction``; village → township → county, or → region as workflow's chain
configuration says) and the area's verified data changes only when the chain's final level
accepts it. A return makes it editable again (resubmitted as the next revision); once
accepted, a later correction is a new submission (a new correction id). Pure.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any
from uuid import UUID

from gx_contracts import lifecycle as lc
from gx_contracts.divisions import Level
from gx_contracts.events.base import EventPayload, Submission, event_fields
from gx_contracts.events.population import (
    AREA_CORRECTION_KIND,
    AreaCorrectionAccepted,
    AreaCorrectionReturned,
    AreaCorrectionReviewFollowed,
    AreaCorrectionSubmitted,
    AreaProposal,
    PopulationReviewStep,
)
from gx_contracts.ids import stream_id
from gx_contracts.lifecycle import Status, SubmissionState
from gx_kernel.eventstore import NewEvent

from gx_population.domain.household import snapshot, state_of

FIRST_REVIEW_LEVEL = Level.township
PROPOSAL_FIELDS = ("boundary", "buildings", "name", "area_code", "urban_rural_code")
FIELD_ZH = {"boundary": "边界描述", "buildings": "建筑物清单", "name": "调查小区名称",
            "area_code": "调查小区代码", "urban_rural_code": "城乡属性"}
STATUS_ZH = {"not_started": "无更正", "draft": "草稿", "submitted": "审批中",
             "returned": "已退回修改", "accepted": "已验收（待上级确认）", "confirmed": "已批准"}


class CorrectionError(Exception):
    """A correction the lifecycle does not allow now: `code` + Chinese message."""

    def __init__(self, code: str, message: str, status: int = 409):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


def changed_fields(current: Mapping[str, Any], proposal: AreaProposal) -> list[str]:
    """Which parts of the area the proposal changes (against the current verified data)."""
    new = proposal.model_dump()
    return [f for f in PROPOSAL_FIELDS if new[f] != current.get(f)]


@dataclass
class AreaCorrection:
    area_id: UUID
    village_code: str
    version: int  # the area stream's version
    correction_id: UUID | None = None
    state: SubmissionState = field(default_factory=SubmissionState)
    proposal: AreaProposal | None = None
    pending_events: list[NewEvent] = field(default_factory=list)

    @property
    def stream_id(self) -> str:
        return stream_id("area", self.area_id)

    @property
    def under_review(self) -> bool:
        return self.state.status in (Status.submitted, Status.accepted)

    def submit(self, proposal: AreaProposal, changed: Sequence[str], *, title: str,
               new_id: UUID) -> None:
        """Submit (a return: resubmit as the next revision) the coordinator's correction."""
        if not changed:
            raise CorrectionError("nothing_changed", "核实结果与现有数据相同，无需更正", 422)
        if self.under_review:
            raise CorrectionError("area_correction_under_review",
                                  "该调查小区的更正正在逐级审批中，审批结束（或退回）前不能再次更正")
        if self.state.status is not Status.returned:  # a new correction
            self.correction_id, self.state = new_id, SubmissionState(status=Status.draft)
        assert self.correction_id is not None
        revision = self.state.revision + 1
        self._raise(AreaCorrectionSubmitted(
            area_id=self.area_id, correction_id=self.correction_id,
            village_code=self.village_code, revision=revision, proposal=proposal,
            changed=list(changed),
            submission=Submission(subject_kind=AREA_CORRECTION_KIND,
                                  subject_id=str(self.correction_id),
                                  division_code=self.village_code, revision=revision,
                                  title=title[:200],
                                  field_labels={f: FIELD_ZH[f] for f in PROPOSAL_FIELDS})))

    def follow(self, event: lc.ReviewEvent, step: PopulationReviewStep) -> None:
        assert self.correction_id is not None
        before = self.state
        new, outcome = lc.react(before, event)
        self._raise(AreaCorrectionReviewFollowed(
            area_id=self.area_id, correction_id=self.correction_id, review=step,
            moved=snapshot(new) if new != before else None))
        if isinstance(outcome, lc.Returned):
            self._raise(AreaCorrectionReturned(
                area_id=self.area_id, correction_id=self.correction_id,
                case_id=outcome.case_id, revision=outcome.revision,
                from_level=outcome.from_level, reason_code=outcome.reason_code,
                reason=outcome.reason[:1000],
                field_notes={k: v[:500] for k, v in outcome.field_notes.items()}))
        elif isinstance(outcome, lc.Accepted):
            self._raise(AreaCorrectionAccepted(
                area_id=self.area_id, correction_id=self.correction_id,
                case_id=outcome.case_id, revision=outcome.revision, level=outcome.level,
                final=outcome.final, applied=self.proposal if outcome.final else None))

    def _raise(self, payload: EventPayload) -> None:
        self.pending_events.append(NewEvent(**event_fields(payload)))
        self.apply(payload)

    def apply(self, e: EventPayload) -> None:
        if isinstance(e, AreaCorrectionSubmitted):
            self.correction_id, self.proposal = e.correction_id, e.proposal
            self.state = replace(lc.submit(replace(self.state, status=Status.draft),
                                           FIRST_REVIEW_LEVEL), revision=e.revision)
        elif isinstance(e, AreaCorrectionReviewFollowed) and e.moved is not None:
            self.state = state_of(e.moved)

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> AreaCorrection:
        c = row.get("correction") or {}
        st = c.get("state")
        return cls(row["area_id"], row["village_code"], row["version"],
                   UUID(str(c["correction_id"])) if c.get("correction_id") else None,
                   state_of_dict(st) if st else SubmissionState(),
                   AreaProposal.model_validate(c["proposal"]) if c.get("proposal") else None)


def state_of_dict(d: Mapping[str, Any]) -> SubmissionState:
    from gx_contracts.events.population import PopulationLifecycleSnapshot
    return state_of(PopulationLifecycleSnapshot.model_validate(d))
