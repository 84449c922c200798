"""The agri report aggregate and its inbound handlers, without infrastructure (unit).

The aggregate on the shared lifecycle; the inbound handlers on the kernel's FakeUnitOfWork and
in-memory event store (the row writes, SQL, are recorded instead)."""
import uuid
from datetime import UTC, datetime

import pytest

from gx_contracts.divisions import Level
from gx_contracts.events.agri import ReportAccepted, ReportReturned, ReportSubmitted
from gx_contracts.events.base import validate_payload
from gx_contracts.events.workflow import (
    CaseAccepted,
    CaseApproved,
    CaseOpened,
    CaseOverdue,
    CaseReopened,
    CaseReturned,
)
from gx_contracts.lifecycle import REVIEW_EVENTS, NotEditable, Status
from gx_kernel.kafka import InboundEvent
from gx_kernel.memstore import InMemoryEventStore
from gx_kernel.uow import FakeUnitOfWork

from gx_agri.adapters import repo
from gx_agri.application import consumer
from gx_agri.domain.report import Report

pytestmark = pytest.mark.unit
VILLAGE = "450102001001"
TASK = uuid.uuid4()
RID = uuid.uuid4()
CASE = uuid.uuid4()
REF = {"case_id": CASE, "subject_kind": "agri.report", "subject_id": str(RID),
       "division_code": VILLAGE}


def fresh() -> Report:
    return Report(RID, TASK, VILLAGE, "A301", 1, "2026-EARLY")


def submitted(values=None) -> Report:
    report = fresh()
    report.save_draft(values or {"crop_area": 4000}, {})
    report.submit(title="t", field_labels={}, note_answers={}, changed=[])
    return report


def returned(revision=1, notes=None, to=Level.village) -> CaseReturned:
    return CaseReturned(**REF, revision=revision, from_level=Level.county, to_level=to,
                        reason_code="R03", reason="请核实" * 400, field_notes=notes or {})


def test_commands_raise_events_and_the_stream_replays_to_the_same_state():
    report = submitted()
    assert [e.type for e in report.pending_events] == ["agri.report.draft_saved",
                                                      "agri.report.submitted"]
    sub = validate_payload("agri.report.submitted", report.pending_events[1].data)
    assert sub.revision == 1 and sub.submission.subject_id == str(RID)
    assert sub.values == {"crop_area": 4000}
    assert report.status == "submitted" and report.state.review_level is Level.township
    with pytest.raises(NotEditable) as info:
        report.save_draft({}, {})
    assert info.value.code == "report_under_review"
    assert len(report.pending_events) == 2  # a refused command raises nothing
    own = [validate_payload(e.type, e.data) for e in report.pending_events]
    assert Report.replay(fresh(), own).state == report.state


def test_a_return_to_the_village_raises_returned_with_the_form_notes_only():
    report = submitted()
    report.pending_events.clear()
    report.follow(returned(notes={"crop_area": "核实", "nonsense": "x"}),
                  keep_note=lambda code: code == "crop_area")
    (event,) = report.pending_events
    back = validate_payload(event.type, event.data)
    assert isinstance(back, ReportReturned) and back.field_notes == {"crop_area": "核实"}
    assert len(back.reason) == 1000 and back.from_level is Level.county
    assert report.state.editable and report.status == "returned"
    report.save_draft({"crop_area": 4100}, {})
    assert report.status == "returned"  # the return stays open until resubmitted
    report.submit(title="t", field_labels={}, note_answers={}, changed=["crop_area"])
    assert report.state.revision == 2 and report.status == "submitted"


def test_early_acceptance_then_confirmation_raise_accepted_events():
    report = submitted()
    report.pending_events.clear()
    report.follow(CaseAccepted(**REF, revision=1, level=Level.township, final=False,
                               next_level=Level.region), keep_note=bool)
    report.follow(CaseAccepted(**REF, revision=1, level=Level.region), keep_note=bool)
    early, final = (validate_payload(e.type, e.data) for e in report.pending_events)
    assert isinstance(early, ReportAccepted) and not early.final
    assert early.next_level is Level.region and early.level is Level.township
    assert final.final and final.accepted_level is Level.township
    assert report.status == "confirmed" and report.state.confirmed_level is Level.region
    with pytest.raises(NotEditable) as info:
        report.save_draft({}, {})
    assert info.value.code == "report_read_only"


def test_review_events_about_an_older_revision_change_nothing():
    report = submitted()
    report.follow(returned(), keep_note=bool)
    report.submit(title="t", field_labels={}, note_answers={}, changed=[])
    report.pending_events.clear()
    before = report.state
    for late in (CaseAccepted(**REF, revision=1, level=Level.region), returned(revision=1),
                 CaseReopened(**REF, revision=1, level=Level.county, reason="x")):
        report.follow(late, keep_note=bool)
    assert report.state == before and report.pending_events == []


def test_own_and_review_events_replay_to_the_live_state():
    live = submitted()
    review = [CaseOpened(case_id=CASE, level=Level.township, chain=[Level.township,
              Level.county, Level.region], submission={**{k: v for k, v in REF.items()
                                                           if k != "case_id"},
                                                        "revision": 1, "title": "t"}),
              CaseApproved(**REF, revision=1, from_level=Level.township, to_level=Level.county),
              returned(to=Level.township),
              CaseAccepted(**REF, revision=1, level=Level.township, final=False,
                           next_level=Level.region)]
    log = [validate_payload(e.type, e.data) for e in live.pending_events]
    for e in review:
        live.follow(e, keep_note=bool)
        log.append(e)
    log.append(validate_payload(live.pending_events[-1].type, live.pending_events[-1].data))
    again = Report.replay(fresh(), log)
    assert again.state == live.state and again.version == len(live.pending_events)
    assert live.state.status is Status.accepted and live.state.case_id == CASE


# -- inbound handlers on the fake unit of work ---------------------------------------------
def inbound(payload, **meta) -> InboundEvent:
    data = payload.model_dump(mode="json")
    return InboundEvent(uuid.uuid4(), payload.EVENT_TYPE, f"case-{CASE}", 1, 1, data,
                        {"actor": "u-county", "role": "county_statistician", **meta},
                        datetime.now(UTC), "workflow.events", 0, 0, {})


@pytest.fixture
def saved_states(monkeypatch):
    states = []

    async def save_state(conn, s, report_id, state):  # the row write (SQL) is not under test
        states.append((report_id, state))
    monkeypatch.setattr(repo, "save_state", save_state)
    return states


def test_handlers_are_registered_per_payload_class_and_wants_follows_them():
    assert set(consumer.HANDLERS) == {*REVIEW_EVENTS, CaseOverdue}
    assert consumer.wants("workflow.case.returned") and consumer.wants("workflow.case.overdue")
    assert not consumer.wants("workflow.case.noted") and not consumer.wants("agri.report.submitted")


async def test_a_return_is_appended_in_the_consumers_transaction(saved_states):
    store = InMemoryEventStore("agri")
    report = submitted()
    async with FakeUnitOfWork(store) as uow:  # the command that submitted it
        uow.add(report)
    event = inbound(returned(notes={"maize_output": "请核实", "zz": "x"}), correlation_id="c-1")
    async with FakeUnitOfWork(store) as uow:
        await consumer.HANDLERS[CaseReturned](uow, report, returned(notes={
            "maize_output": "请核实", "zz": "x"}), event)
    stream = await store.read_stream(f"report-{RID}")
    assert [e.type for e in stream] == ["agri.report.draft_saved", "agri.report.submitted",
                                        "agri.report.returned"]
    last = stream[-1]
    assert last.data["field_notes"] == {"maize_output": "请核实"}  # only the form's indicators
    assert last.metadata["causation_id"] == str(event.id)
    assert last.metadata["actor"] == "u-county" and last.metadata["correlation_id"] == "c-1"
    assert saved_states[-1] == (RID, report.state) and report.status == "returned"
    assert report.version == 3


async def test_an_approval_changes_the_state_and_raises_nothing(saved_states):
    store = InMemoryEventStore("agri")
    report = submitted()
    async with FakeUnitOfWork(store) as uow:
        uow.add(report)
    approval = CaseApproved(**REF, revision=1, from_level=Level.township, to_level=Level.county)
    async with FakeUnitOfWork(store) as uow:
        await consumer.HANDLERS[CaseApproved](uow, report, approval, inbound(approval))
    assert len(store.committed()) == 2 and uow.stored == []
    assert saved_states[-1][1].approved_rank == Level.township.rank
    assert saved_states[-1][1].review_level is Level.county


async def test_a_stale_report_version_rolls_the_reaction_back(saved_states):
    from gx_kernel.eventstore import ConcurrencyError

    store = InMemoryEventStore("agri")
    report = submitted()
    async with FakeUnitOfWork(store) as uow:
        uow.add(report)
    stale = Report.replay(fresh(), [validate_payload(e.type, e.data)
                                    for e in (await store.read_stream(f"report-{RID}"))[:1]])
    stale.state = report.state  # thinks it is submitted, loaded at version 1
    accepted = CaseAccepted(**REF, revision=1, level=Level.region)
    with pytest.raises(ConcurrencyError):
        async with FakeUnitOfWork(store) as uow:
            await consumer.HANDLERS[CaseAccepted](uow, stale, accepted, inbound(accepted))
    assert [e.type for e in store.committed()][-1] == ReportSubmitted.EVENT_TYPE
