"""The shared submission lifecycle (gx_contracts.lifecycle): properties over review event runs."""
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gx_contracts import lifecycle as lc
from gx_contracts.divisions import Level
from gx_contracts.events.workflow import (
    CaseAccepted,
    CaseApproved,
    CaseOpened,
    CaseReopened,
    CaseResubmitted,
    CaseReturned,
)
from gx_contracts.lifecycle import Status, SubmissionState

from tests.hypothesis_budget import examples

CASE = uuid.uuid4()
REVIEW = [Level.township, Level.county, Level.city, Level.region]
REF = {"case_id": CASE, "subject_kind": "agri.report", "subject_id": "r-1",
       "division_code": "450102001001"}


def opened(revision: int, level: Level = Level.township) -> CaseOpened:
    return CaseOpened(case_id=CASE, level=level, chain=REVIEW, submission={
        "subject_kind": "agri.report", "subject_id": "r-1", "division_code": "450102001001",
        "revision": revision, "title": "t"})


levels = st.sampled_from(REVIEW)


@st.composite
def review_events(draw, revision: int):
    kind = draw(st.sampled_from(["opened", "approved", "returned", "resubmitted", "accepted",
                                 "reopened"]))
    r = {**REF, "revision": revision}
    level, other = draw(levels), draw(levels)
    if kind == "opened":
        return opened(revision, level)
    if kind == "approved":
        return CaseApproved(**r, from_level=level, to_level=other)
    if kind == "returned":
        to = draw(st.sampled_from([Level.village, *REVIEW]))
        return CaseReturned(**r, from_level=level, to_level=to, reason_code="R01", reason="x",
                            field_notes={"a1": "请核实"})
    if kind == "resubmitted":
        return CaseResubmitted(**r, level=level)
    if kind == "accepted":
        return CaseAccepted(**r, level=level, final=draw(st.booleans()), next_level=other)
    return CaseReopened(**r, level=level, reason="重新打开")


def submitted(revision: int = 1) -> SubmissionState:
    state = SubmissionState()
    for _ in range(revision):
        state = lc.submit(lc.save_draft(state) if state.status is Status.not_started else state,
                          Level.township)
        if state.revision < revision:  # back to the village between revisions
            state, _ = lc.react(state, CaseReturned(**REF, revision=state.revision,
                                                    from_level=Level.county,
                                                    to_level=Level.village, reason_code="R01",
                                                    reason="x"))
    return state


@given(st.lists(review_events(2), max_size=12), st.lists(review_events(1), min_size=1,
                                                        max_size=8))
@settings(max_examples=examples(200), deadline=None)
def test_events_about_an_older_revision_never_change_the_state(run, late):
    state = submitted(2)  # revision 1 was returned to the village, then resubmitted
    assert state.revision == 2
    for e in run:  # wherever revision 2 has got to in review
        state, _ = lc.react(state, e)
    for e in late:  # all about revision 1
        assert lc.react(state, e) == (state, None)


@given(st.lists(review_events(1), max_size=15))
@settings(max_examples=examples(300), deadline=None)
def test_outcomes_follow_the_state(run):
    state = submitted(1)
    for e in run:
        before = state
        state, outcome = lc.react(state, e)
        if isinstance(outcome, lc.Returned):
            assert before.status in (Status.submitted, Status.accepted)
            assert state.status is Status.returned and state.editable
            assert state.approved_rank == 0 and state.review_level is None
        elif isinstance(outcome, lc.Accepted) and outcome.final:
            assert state.status is Status.confirmed and state.read_only
            assert outcome.accepted_level == before.accepted_level
        elif isinstance(outcome, lc.Accepted):
            assert before.status is Status.submitted and state.status is Status.accepted
            assert state.read_only and state.accepted_level == outcome.level
        else:  # no outcome: the editability never flips to editable silently
            assert not state.editable or before.editable
        assert 0 <= state.approved_rank <= Level.region.rank
        assert state.revision == 1


def test_a_returned_to_village_submission_is_editable_and_resubmits_as_the_next_revision():
    state, out = lc.react(submitted(1), CaseReturned(**REF, revision=1, from_level=Level.county,
                                                     to_level=Level.village, reason_code="R03",
                                                     reason="请核实", field_notes={"a": "b"}))
    assert state.editable and out == lc.Returned(CASE, 1, Level.county, "R03", "请核实", {"a": "b"})
    assert lc.save_draft(state).status is Status.returned  # the return stays open
    again = lc.submit(state, Level.township)
    assert again.status is Status.submitted and again.revision == 2 and again.approved_rank == 0


def test_accepted_early_is_read_only_until_a_return():
    state, out = lc.react(submitted(1), CaseAccepted(**REF, revision=1, level=Level.township,
                                                     final=False, next_level=Level.region))
    assert out.final is False and state.read_only and state.review_level is Level.region
    with pytest.raises(lc.NotEditable) as info:
        lc.save_draft(state)
    assert info.value.code == "report_read_only"
    # the region's watch returns it to the county: under review again, not editable
    state, out = lc.react(state, CaseReturned(**REF, revision=1, from_level=Level.region,
                                              to_level=Level.county, reason_code="R01",
                                              reason="x"))
    assert out is None and state.status is Status.submitted and state.accepted_level is None
    with pytest.raises(lc.NotEditable) as info:
        lc.submit(state, Level.township)
    assert info.value.code == "report_under_review"
    state, out = lc.react(state, CaseAccepted(**REF, revision=1, level=Level.region))
    assert out.final and state.status is Status.confirmed and state.confirmed_level is Level.region


def test_approvals_raise_the_rank_and_a_return_to_a_level_lowers_it():
    state, _ = lc.react(submitted(1), opened(1))
    assert state.case_id == CASE and state.review_level is Level.township
    state, _ = lc.react(state, CaseApproved(**REF, revision=1, from_level=Level.township,
                                            to_level=Level.county))
    state, _ = lc.react(state, CaseApproved(**REF, revision=1, from_level=Level.county,
                                            to_level=Level.city))
    assert state.approved_rank == Level.county.rank and state.review_level is Level.city
    state, _ = lc.react(state, CaseReturned(**REF, revision=1, from_level=Level.city,
                                            to_level=Level.county, reason_code="R01", reason="x"))
    assert state.approved_rank == Level.township.rank and state.review_level is Level.county


def test_a_reopened_confirmation_is_under_review_again():
    state, _ = lc.react(submitted(1), CaseAccepted(**REF, revision=1, level=Level.region))
    state, _ = lc.react(state, CaseReopened(**REF, revision=1, level=Level.region, reason="复核"))
    assert state.status is Status.submitted and state.confirmed_level is None
    assert state.approved_rank == Level.city.rank and not state.editable


def test_drafts_and_not_started_ignore_review_events():
    assert lc.react(SubmissionState(), opened(0 + 1)) == (SubmissionState(), None)
    with pytest.raises(lc.NotEditable):
        lc.save_draft(submitted(1))
