"""The agri report aggregate and its inbound handlers, without infrastructure (unit).

The aggregate on the shared lifecycle, loaded from its stream through the contracts' decode
(an event stored by 820aedc's code replays); the inbound handlers on the kernel's
FakeUnitOfWork and in-memory event store (the read models, SQL, are not under test here)."""
import copy
import json
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gx_contracts.divisions import Level
from gx_contracts.events.agri import (
    ReportAccepted,
    ReportReturned,
    ReportReviewFollowed,
    ReportSubmitted,
    ReviewStep,
)
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
from gx_kernel.eventstore import NewEvent
from gx_kernel.kafka import InboundEvent
from gx_kernel.memstore import InMemoryEventStore
from gx_kernel.uow import FakeUnitOfWork

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


def step(payload) -> ReviewStep:
    """The review event as agri receives it (its history)."""
    return ReviewStep(event_id=uuid.uuid4(), type=payload.EVENT_TYPE,
                      data=payload.model_dump(mode="json"), metadata={"actor": "u-county"},
                      at=datetime.now(UTC))


def follow(report: Report, payload, keep_note=bool) -> None:
    report.follow(payload, keep_note, step(payload))


def decoded(report: Report) -> list:
    return [validate_payload(e.type, e.data) for e in report.pending_events]


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
    follow(report, returned(notes={"crop_area": "核实", "nonsense": "x"}),
           keep_note=lambda code: code == "crop_area")
    followed, back = decoded(report)
    assert isinstance(followed, ReportReviewFollowed) and followed.moved.status == "returned"
    assert followed.review.type == "workflow.case.returned"
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
    follow(report, CaseAccepted(**REF, revision=1, level=Level.township, final=False,
                                next_level=Level.region))
    follow(report, CaseAccepted(**REF, revision=1, level=Level.region))
    moved_early, early, moved_final, final = decoded(report)
    assert moved_early.moved.status == "accepted" and moved_final.moved.status == "confirmed"
    assert isinstance(early, ReportAccepted) and not early.final
    assert early.next_level is Level.region and early.level is Level.township
    assert final.final and final.accepted_level is Level.township
    assert report.status == "confirmed" and report.state.confirmed_level is Level.region
    with pytest.raises(NotEditable) as info:
        report.save_draft({}, {})
    assert info.value.code == "report_read_only"


def test_review_events_about_an_older_revision_change_nothing():
    report = submitted()
    follow(report, returned())
    report.submit(title="t", field_labels={}, note_answers={}, changed=[])
    report.pending_events.clear()
    before = report.state
    late = (CaseAccepted(**REF, revision=1, level=Level.region), returned(revision=1),
            CaseReopened(**REF, revision=1, level=Level.county, reason="x"),
            CaseOverdue(**REF, level=Level.township, deadline=datetime.now(UTC)))
    for event in late:
        follow(report, event)
    assert report.state == before
    # kept as history only: one review_followed each, nothing moved, no returned/accepted
    assert [(e.review.type, e.moved) for e in decoded(report)] == [
        (e.EVENT_TYPE, None) for e in late]


async def test_the_stream_replays_to_the_live_state_through_decode():
    """Own events and the review moves it followed: its stream alone gives its state."""
    live = submitted()
    review = [CaseOpened(case_id=CASE, level=Level.township, chain=[Level.township,
              Level.county, Level.region], submission={**{k: v for k, v in REF.items()
                                                           if k != "case_id"},
                                                        "revision": 1, "title": "t"}),
              CaseApproved(**REF, revision=1, from_level=Level.township, to_level=Level.county),
              returned(to=Level.township),
              CaseAccepted(**REF, revision=1, level=Level.township, final=False,
                           next_level=Level.region)]
    for e in review:
        follow(live, e)
    store = InMemoryEventStore("agri")
    async with FakeUnitOfWork(store) as uow:
        uow.add(live)
    again = Report.load(fresh(), await store.read_stream(live.stream_id))
    assert again.state == live.state and again.version == live.version == 7
    assert live.state.status is Status.accepted and live.state.case_id == CASE
    assert again.state.review_level is Level.region and again.values == live.values


OLD = {e["type"]: e for e in json.loads(
    (Path(__file__).parents[1] / "contracts" / "fixtures" / "events_820aedc.json")
    .read_text(encoding="utf-8"))["events"]}


async def test_a_stream_stored_by_older_code_replays_through_decode():
    """820aedc's events (fixture of tests/contracts/test_old_events.py): a return, then a
    resubmission accepted before `final` existed, i.e. confirmed."""
    old = {t: copy.deepcopy(OLD[f"agri.report.{t}"]["data"])
           for t in ("draft_saved", "submitted", "returned", "accepted")}
    rid = uuid.UUID(old["submitted"]["report_id"])
    again = copy.deepcopy(old["submitted"])
    again["revision"] = again["submission"]["revision"] = old["accepted"]["revision"]
    old["returned"]["revision"] = old["submitted"]["revision"]
    store = InMemoryEventStore("agri")
    stream = [("draft_saved", old["draft_saved"]), ("submitted", old["submitted"]),
              ("returned", old["returned"]), ("submitted", again), ("accepted", old["accepted"])]
    await store.append(f"report-{rid}", 0, [NewEvent(f"agri.report.{t}", d, schema_version=1)
                                            for t, d in stream])
    head = Report(rid, uuid.UUID(old["submitted"]["task_id"]), old["submitted"]["village_code"],
                  "A302", 1, "2026-Q1")
    report = Report.load(head, await store.read_stream(f"report-{rid}"))
    assert report.version == 5 and report.status == "confirmed"
    assert report.state.confirmed_level is Level.region and report.state.revision == 2
    assert report.values["pigs_slaughter"] is None and report.values["pigs_opening"] == 1250.5
    assert report.last_return.reason_code == "R03" and report.last_return.from_level is Level.township
    with pytest.raises(NotEditable):
        report.save_draft({}, {})


def test_an_event_of_a_version_newer_than_known_is_refused_on_replay():
    from gx_contracts.events import EventDecodeError

    newer = NewEvent("agri.report.draft_saved", OLD["agri.report.draft_saved"]["data"],
                     schema_version=99)
    with pytest.raises(EventDecodeError):
        Report.load(fresh(), [newer])


# -- inbound handlers on the fake unit of work ---------------------------------------------
def inbound(payload, **meta) -> InboundEvent:
    data = payload.model_dump(mode="json")
    return InboundEvent(uuid.uuid4(), payload.EVENT_TYPE, f"case-{CASE}", 1, 1, data,
                        {"actor": "u-county", "role": "county_statistician", **meta},
                        datetime.now(UTC), "workflow.events", 0, 0, {})


def test_handlers_are_registered_per_payload_class_and_wants_follows_them():
    assert set(consumer.HANDLERS) == {*REVIEW_EVENTS, CaseOverdue}
    assert len(set(consumer.HANDLERS.values())) == 1  # one reaction: follow (and record)
    assert consumer.wants("workflow.case.returned") and consumer.wants("workflow.case.overdue")
    assert not consumer.wants("workflow.case.noted") and not consumer.wants("agri.report.submitted")


async def test_a_return_is_appended_in_the_consumers_transaction():
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
                                        "agri.report.review_followed", "agri.report.returned"]
    followed, last = stream[-2:]
    assert followed.data["review"]["event_id"] == str(event.id)  # the history, as received
    assert followed.data["review"]["data"] == event.data
    assert followed.data["review"]["metadata"] == event.metadata
    assert last.data["field_notes"] == {"maize_output": "请核实"}  # only the form's indicators
    for e in (followed, last):
        assert e.metadata["causation_id"] == str(event.id)
        assert e.metadata["actor"] == "u-county" and e.metadata["correlation_id"] == "c-1"
    assert report.status == "returned" and report.version == 4
    assert Report.load(fresh(), stream).state == report.state


async def test_an_approval_is_recorded_as_a_move_of_the_report():
    store = InMemoryEventStore("agri")
    report = submitted()
    async with FakeUnitOfWork(store) as uow:
        uow.add(report)
    approval = CaseApproved(**REF, revision=1, from_level=Level.township, to_level=Level.county)
    async with FakeUnitOfWork(store) as uow:
        await consumer.HANDLERS[CaseApproved](uow, report, approval, inbound(approval))
    (moved,) = uow.stored
    assert moved.type == "agri.report.review_followed" and len(store.committed()) == 3
    assert moved.data["moved"]["approved_rank"] == Level.township.rank
    assert moved.data["moved"]["review_level"] == "county"
    assert Report.load(fresh(), await store.read_stream(f"report-{RID}")).state == report.state


async def test_a_stale_report_version_rolls_the_reaction_back():
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


def test_the_history_keeps_a_review_event_without_the_forms_field_labels():
    labels = {f"ind_{i}": "指标" * 20 for i in range(300)}
    opened = CaseOpened(case_id=CASE, level=Level.township, chain=[Level.township],
                        submission={**{k: v for k, v in REF.items() if k != "case_id"},
                                    "revision": 1, "title": "t", "field_labels": labels})
    data = opened.model_dump(mode="json")
    kept = consumer.history_data(data)
    assert "field_labels" not in kept["submission"] and data["submission"]["field_labels"]
    assert kept["submission"]["subject_id"] == str(RID) and kept["chain"] == ["township"]
    assert consumer.history_data({"level": "county", "field_labels": labels}) == {
        "level": "county"}
