"""The 基本单位情况表 aggregate on the shared lifecycle (pure): every state it reaches is recorded
in its own events, so loading its stream — or folding the events onto its row — gives it back."""
import uuid
from datetime import UTC, datetime

import pytest

from gx_contracts import lifecycle as lc
from gx_contracts.divisions import Level
from gx_contracts.events import decode
from gx_contracts.events.registry import SUBJECT_KIND, UnitFormReviewStep
from gx_contracts.events.workflow import CaseAccepted, CaseApproved, CaseOpened, CaseReturned
from gx_kernel.eventstore import NewEvent

from gx_registry.domain.form_aggregate import UnitForm

VILLAGE = "450103103201"
CASE = uuid.uuid4()
FORM = uuid.uuid4()
REF = {"case_id": CASE, "subject_kind": SUBJECT_KIND, "subject_id": str(FORM),
       "division_code": VILLAGE}


class Rec:
    def __init__(self, e: NewEvent):
        self.type, self.schema_version, self.data = e.type, e.schema_version, e.data


def step(kind: str) -> UnitFormReviewStep:
    return UnitFormReviewStep(event_id=uuid.uuid4(), type=f"workflow.case.{kind}",
                              at=datetime.now(UTC), level=Level.township)


def _run(form: UnitForm, stream: list[NewEvent], call) -> None:
    n = len(form.pending_events)
    call()
    stream += form.pending_events[n:]


def test_a_form_through_return_resubmission_and_final_acceptance():
    stream: list[NewEvent] = []
    form = UnitForm.open(FORM, VILLAGE, 1, values={"name": "南宁天堂宏达科技有限公司"})
    stream += form.pending_events
    _run(form, stream, lambda: form.save_draft({"name": "南宁天堂宏达科技有限公司"}, {}, None))
    _run(form, stream, lambda: form.submit("基本单位情况表", {}, []))
    assert (form.state.status, form.state.revision) == (lc.Status.submitted, 1)
    with pytest.raises(lc.NotEditable):
        form.save_draft({}, {}, None)
    opened = CaseOpened(case_id=CASE, level=Level.township, chain=[Level.township, Level.county],
                        submission={**{k: REF[k] for k in ("subject_kind", "subject_id",
                                                            "division_code")},
                                    "revision": 1, "title": "t"})
    _run(form, stream, lambda: form.follow(opened, step("opened")))
    returned = CaseReturned(**REF, revision=1, from_level=Level.township, to_level=Level.village,
                            reason_code="R01", reason="从业人员请核实")
    _run(form, stream, lambda: form.follow(returned, step("returned")))
    assert form.state.status is lc.Status.returned and form.return_reason == "从业人员请核实"
    _run(form, stream, lambda: form.submit("基本单位情况表", {}, []))
    old = CaseApproved(**REF, revision=1, from_level=Level.township, to_level=Level.county)
    _run(form, stream, lambda: form.follow(old, step("approved")))  # an older revision: no move
    assert stream[-1].data["moved"] is None
    _run(form, stream, lambda: form.follow(
        CaseApproved(**REF, revision=2, from_level=Level.township, to_level=Level.county),
        step("approved")))
    outcome = None

    def accept():
        nonlocal outcome
        outcome = form.follow(CaseAccepted(**REF, revision=2, level=Level.county, final=True),
                              step("accepted"))
    _run(form, stream, accept)
    assert isinstance(outcome, lc.Accepted) and outcome.final
    assert form.state.status is lc.Status.confirmed and form.state.read_only
    assert [e.type.rsplit(".", 1)[1] for e in stream] == [
        "opened", "draft_saved", "submitted", "review_followed", "review_followed", "returned",
        "submitted", "review_followed", "review_followed", "review_followed", "accepted"]

    loaded = UnitForm.load(FORM, [Rec(e) for e in stream])
    assert loaded.state == form.state and loaded.values == form.values
    assert loaded.version == len(stream) and loaded.return_reason == "从业人员请核实"
    # the projection's fold: the row before some events, then those events
    head = UnitForm.load(FORM, [Rec(e) for e in stream[:5]])
    again = UnitForm.replay(UnitForm.from_row(head.row()),
                            [decode(e.type, e.schema_version, e.data) for e in stream[5:]])
    assert again.state == form.state and again.row()["status"] == "confirmed"
    assert again.version == len(stream)


def test_an_unopened_form_loads_empty_and_is_editable():
    form = UnitForm.load(FORM, [])
    assert not form.opened and form.state.editable and form.version == 0
