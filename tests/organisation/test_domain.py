"""The progress report aggregate on the shared lifecycle, on the kernel's FakeUnitOfWork and
in-memory event store, and the pure rules: phases, subsidies, assessment (unit)."""
from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest

from gx_contracts.divisions import Level
from gx_contracts.events import decode
from gx_contracts.events.base import Submission
from gx_contracts.events.organisation import (
    ProgressReportAccepted,
    ProgressReportReturned,
    ProgressReportReviewFollowed,
    ProgressReportReviewStep,
    ProgressReportSubmitted,
)
from gx_contracts.events.workflow import CaseAccepted, CaseApproved, CaseOpened, CaseReturned
from gx_contracts.lifecycle import NotEditable, Status
from gx_kernel.memstore import InMemoryEventStore
from gx_kernel.uow import FakeUnitOfWork

from gx_organisation.domain import assessment, reform, subsidy
from gx_organisation.domain.progress_report import ProgressReport, report_id_for

pytestmark = pytest.mark.unit
COUNTY = "450103000000"
DUE = date(2019, 7, 15)
CASE = uuid.uuid4()


def submitted(today: date = date(2019, 7, 10)) -> ProgressReport:
    r = ProgressReport(report_id_for(COUNTY, DUE), 2019, DUE, COUNTY)
    r.save_draft({"progress": "进展"}, {"townships_total": 11}, [])
    r.submit(title="t", today=today)
    return r


def step(kind: str = "approved") -> ProgressReportReviewStep:
    return ProgressReportReviewStep(event_id=uuid.uuid4(), type=f"workflow.case.{kind}",
                      at=datetime.now(UTC), actor_name="黄志强")


def ref(r: ProgressReport) -> dict:
    return {"case_id": CASE, "subject_kind": "organisation.progress_report",
            "subject_id": str(r.report_id), "division_code": COUNTY}


def opened(r: ProgressReport) -> CaseOpened:
    return CaseOpened(case_id=CASE, submission=Submission(
        subject_kind="organisation.progress_report", subject_id=str(r.report_id),
        division_code=COUNTY, revision=r.state.revision, title="t"), chain=["county", "city",
                                                                          "region"],
        level="county", deadline=None)


async def test_submit_raises_the_submission_and_lateness_and_the_uow_appends_it():
    store = InMemoryEventStore()
    r = submitted(today=date(2019, 7, 16))
    async with FakeUnitOfWork(store) as uow:
        uow.add(r, {"actor": "u"})
    events = await store.read_stream(r.stream_id)
    assert [e.type for e in events] == ["organisation.progress_report.draft_saved",
                                        "organisation.progress_report.submitted"]
    sub = ProgressReportSubmitted.model_validate(events[-1].data)
    assert sub.late is True and sub.submission.division_code == COUNTY
    assert r.version == 2 and r.state.status is Status.submitted
    assert r.state.review_level is Level.county


def test_under_review_it_cannot_change():
    r = submitted()
    with pytest.raises(NotEditable):
        r.save_draft({}, {}, [])


def test_it_follows_the_chain_to_confirmation():
    r = submitted()
    r.pending_events.clear()
    r.follow(opened(r), step('opened'))
    r.pending_events.clear()
    r.follow(CaseApproved(**ref(r), revision=1, from_level="county", to_level="city",
                          deadline=None), step())
    assert r.state.review_level is Level.city
    assert [e.type for e in r.pending_events] == [ProgressReportReviewFollowed.EVENT_TYPE]
    r.follow(CaseAccepted(**ref(r), revision=1, level="region", final=True), step("accepted"))
    assert r.state.status is Status.confirmed
    assert r.pending_events[-1].type == ProgressReportAccepted.EVENT_TYPE


def test_a_return_to_the_county_makes_it_editable_and_an_old_revision_is_ignored():
    r = submitted()
    r.pending_events.clear()
    r.follow(opened(r), step('opened'))
    r.follow(CaseReturned(**ref(r), revision=1, from_level="city", to_level="village",
                          reason_code="R01", reason="补充", deadline=None), step("returned"))
    assert r.state.status is Status.returned
    assert r.pending_events[-1].type == ProgressReportReturned.EVENT_TYPE
    r.save_draft({"progress": "改"}, {}, [])
    r.submit(title="t", today=date(2019, 7, 12))
    assert r.state.revision == 2
    r.follow(CaseAccepted(**ref(r), revision=1, level="region", final=True),
             step("accepted"))  # stale
    assert r.state.status is Status.submitted


def test_phases_of_52hao():
    scope = reform.document_scope("桂统字〔2019〕52号")
    assert scope is not None and len(scope["counties"]) == 15
    phases = scope["phases"]
    assert reform.phase_label(phases, date(2019, 5, 31)) == "调研阶段"
    assert reform.phase_label(phases, date(2019, 7, 1)) == "组织实施阶段"
    assert reform.phase_label(phases, date(2019, 12, 10)) == "总结阶段"
    assert reform.phase_label(phases, date(2020, 1, 1)) == "已结束"
    assert reform.phase_label(phases, date(2019, 1, 1)) == "未开始"


def test_subsidy_amounts():
    rates = {"45": [subsidy.Rate("village_coordinator", "monthly", 300)],
             "450103": [subsidy.Rate("grid_worker", "per_unit", 5)]}
    coord = subsidy.rate_for(rates, "450103103201", "village_coordinator")
    grid = subsidy.rate_for(rates, "450103103201", "grid_worker")
    assert subsidy.rate_for(rates, "450102001001", "grid_worker") is None
    assert subsidy.amount_due(coord, date(2019, 8, 31), None, "2019-08", 0) == 300
    assert subsidy.amount_due(coord, date(2019, 9, 1), None, "2019-08", 0) == 0
    assert subsidy.amount_due(coord, date(2019, 1, 1), date(2019, 8, 1), "2019-08", 0) == 300
    assert subsidy.amount_due(grid, date(2019, 1, 1), None, "2019-08", 7) == 35
    assert subsidy.month_bounds("2019-12") == (date(2019, 12, 1), date(2019, 12, 31))


def test_assessment_total_and_model_standard_are_illustrative_data():
    crit = assessment.latest()
    assert crit.illustrative and sum(c.weight for c in crit.criteria) == 100
    full = {c.code: 100.0 for c in crit.criteria}
    assert crit.total(full) == 100 and crit.reaches_model(crit.total(full))
    assert crit.missing({}) and crit.unknown({"x": 1}) == ["x"]


def test_the_state_replays_from_the_own_events():
    r = submitted()
    r.follow(opened(r), step("opened"))
    r.follow(CaseReturned(**ref(r), revision=1, from_level="city", to_level="village",
                          reason_code="R01", reason="补充", deadline=None), step("returned"))
    again = ProgressReport(r.report_id, 2019, DUE, COUNTY)
    for e in r.pending_events:  # what a rebuild reads back from the stream
        again.apply(decode(e.type, e.schema_version, e.data))
    assert again.state == r.state and again.state.status is Status.returned
