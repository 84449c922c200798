"""Workflow handlers on the kernel's in-memory store and FakeUnitOfWork: no database, no broker.

The same application code the service runs (act, intake_submission, the typed inbound
dispatch); only the store, the unit of work's backend, the chain source and the read model
are in memory.
"""
from __future__ import annotations

import functools
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from workflow_support import USERS, VILLAGE

from gx_contracts.commands.workflow import AcceptCase, ApproveCase, ReturnCase
from gx_contracts.events.agri import ReportSubmitted, TaskPublished
from gx_contracts.events.base import Submission, event_fields
from gx_contracts.events.organisation import ProgressReportSubmitted
from gx_contracts.events.population import AreaCorrectionSubmitted, HouseholdSubmitted
from gx_contracts.events.registry import UnitFormSubmitted
from gx_contracts.ids import case_id_for
from gx_kernel.errors import AppError, NotFound
from gx_kernel.identity import Principal
from gx_kernel.kafka import InboundEvent
from gx_kernel.memstore import InMemoryEventStore
from gx_kernel.projections import ProjectionRegistry
from gx_kernel.uow import AfterCommit, FakeUnitOfWork

from gx_workflow.application import intake, projection
from gx_workflow.application.cases import act, intake_submission
from gx_workflow.application.projection import CASE_EVENT_TYPES, case_view
from gx_workflow.domain import commands as dc
from gx_workflow.domain.case import ReviewCase, case_stream_id
from gx_workflow.domain.chains import load_chain_file, pick_chain
from gx_workflow.domain.errors import NotYourTurn, StaleVersion

pytestmark = pytest.mark.unit
NOW = datetime(2026, 4, 1, 8, 0, tzinfo=UTC)
CHAINS = load_chain_file()


async def memory_chains(_conn: Any, _schema: str, kind: str, profile: str):
    return pick_chain(CHAINS, kind, profile)


async def no_chains(*_: Any):
    return None


class World:
    """An in-memory store, its case read model (a registered projector) and relay wake-ups."""

    def __init__(self) -> None:
        self.store = InMemoryEventStore("wf")
        self.views: dict[str, dict] = {}
        self.projected: list[tuple[str, bool]] = []  # (event type, transaction closed?)
        self.wakes = 0
        self.responses: dict = {}
        wake = self.store.notify_committed

        def notify() -> None:
            self.wakes += 1
            wake()
        self.store.notify_committed = notify
        self.projections = ProjectionRegistry()

        @self.projections.batch(*CASE_EVENT_TYPES)
        async def cases(tx, events) -> None:
            for e in events:
                self.projected.append((e.type, tx.closed))
                case = ReviewCase.replay(await self.store.read_stream(e.stream_id, conn=tx))
                self.views[str(case.case_id)] = case_view(case)

    def events(self, type_prefix: str = "workflow.case.") -> list:
        return [e for e in self.store.committed() if e.type.startswith(type_prefix)]

    async def submit(self, revision: int = 1, subject_id: str | None = None,
                     kind: str = "agri.report", chains=memory_chains) -> ReviewCase | None:
        sub = Submission(subject_kind=kind, subject_id=subject_id or str(uuid.uuid4()),
                         division_code=VILLAGE, task_id=uuid.uuid4(), revision=revision,
                         title="2026年一季度农业生产情况", field_labels={"A01": "粮食播种面积"})
        hooks, before = AfterCommit(), self.wakes
        async with self.store.transaction() as tx:  # as the consumer's transaction
            case = await intake_submission(self.store, tx, sub, {"actor": "user-village"}, NOW,
                                           projections=self.projections, chains=chains,
                                           after_commit=hooks)
            assert self.wakes == before  # never before the commit
        hooks.run()
        return case

    async def act(self, who: str, case: ReviewCase | dict, action: str, body, decide,
                  key: str | None = None) -> dict:
        role, scope = USERS[who]
        p = Principal(user_id=f"user-{who}", username=who, role=role, scope=scope,
                      device_id=f"dev-{who}")
        case_id = case.case_id if isinstance(case, ReviewCase) else uuid.UUID(case["case_id"])
        return await act(self.store, p, case_id, action, body, key, decide,
                         projections=self.projections,
                         unit_of_work=functools.partial(FakeUnitOfWork,
                                                        responses=self.responses))


def approve(body: ApproveCase):
    return lambda c, a, now: dc.approve(c, a, body.expected_version, body.comment, now)


def accept(body: AcceptCase):
    return lambda c, a, now: dc.accept(c, a, body.expected_version, body.comment, now)


def inbound(payload, stream: str, version: int = 1) -> InboundEvent:
    f = event_fields(payload)
    return InboundEvent(uuid.uuid4(), f["type"], stream, version, f["schema_version"], f["data"],
                        {"actor": "u-v", "role": "village_coordinator", "device": "phone-9"},
                        NOW, "agri.events", 0, 0, {})


def report_submitted(report_id: uuid.UUID, revision: int = 1, **sub: Any) -> ReportSubmitted:
    task_id = uuid.uuid4()
    submission = Submission(**{"subject_kind": "agri.report", "subject_id": str(report_id),
                               "division_code": VILLAGE, "task_id": task_id,
                               "revision": revision, "title": "农业", **sub})
    return ReportSubmitted(report_id=report_id, task_id=task_id, form_code="A301",
                           form_version=1, period="2026-Q1", village_code=VILLAGE,
                           values={"A01": 12.5}, revision=revision, submission=submission)


# -- intake ------------------------------------------------------------------------------
async def test_a_submission_opens_a_case_projected_in_its_transaction_relay_woken_after():
    w = World()
    case = await w.submit()
    [opened] = w.events()
    assert opened.type == "workflow.case.opened" and opened.version == 1
    assert opened.stream_id == case_stream_id(case.case_id) == f"case-{case.case_id}"
    assert opened.metadata["actor"] == "user-village"
    assert case.level.value == "township" and case.chain_version == 2  # standard 附件3 chain
    assert w.projected == [("workflow.case.opened", False)]  # inside the open transaction
    assert w.views[str(case.case_id)]["level"] == "township"
    assert w.wakes == 1 and w.store.open_transactions == 0


async def test_the_same_revision_again_adds_nothing_and_a_new_one_resubmits_after_a_return():
    w = World()
    case = await w.submit(subject_id="r-1")
    assert (await w.submit(subject_id="r-1")).version == 1 and len(w.events()) == 1
    assert w.wakes == 1  # nothing committed, nobody woken
    ret = ReturnCase(expected_version=1, reason_code="R01", reason="面积与上年差异过大",
                     field_notes={"A01": "请核实"})
    returned = await w.act("township", case, "return", ret, lambda c, a, now: dc.return_case(
        c, a, 1, ret.reason_code, ret.reason, ret.field_notes, None, now))
    assert returned["status"] == "returned" and returned["field_notes"] == {"A01": "请核实"}
    again = await w.submit(subject_id="r-1", revision=2)
    assert [e.type for e in w.events()][-1] == "workflow.case.resubmitted"
    assert again.status.value == "in_review" and again.revision == 2 and again.field_notes == {}
    assert w.views[str(case.case_id)]["version"] == 3


async def test_a_kind_without_a_chain_is_refused_and_nothing_is_written():
    w = World()
    with pytest.raises(ValueError, match="no review chain"):
        await w.submit(chains=no_chains)
    assert w.store.committed() == [] and w.projected == [] and w.wakes == 0


# -- typed inbound events ------------------------------------------------------------------
def test_the_consumer_wants_exactly_the_payloads_it_has_handlers_for():
    # submissions open cases; a published task with a scope sets 应报 (progress)
    assert {"agri.report.submitted", "population.household.submitted",
            "registry.unit_form.submitted", "organisation.progress_report.submitted",
            "population.area_correction.submitted", "agri.task.published"} == intake.WANTED_TYPES
    assert set(intake.EVENT_HANDLERS) == {ReportSubmitted, HouseholdSubmitted, UnitFormSubmitted,
                                          ProgressReportSubmitted, AreaCorrectionSubmitted,
                                          TaskPublished}
    assert intake.wants("agri.report.submitted")
    assert not intake.wants("agri.report.returned") and not intake.wants("x.thing.submitted")


async def test_inbound_events_decode_to_their_payload_class_and_dispatch_on_it():
    w, report_id = World(), uuid.uuid4()
    event = inbound(report_submitted(report_id), f"report-{report_id}")
    assert isinstance(intake.decode(event), ReportSubmitted)
    household = HouseholdSubmitted(
        household_id=uuid.uuid4(), survey_area_code="001", village_code=VILLAGE, person_count=3,
        revision=1, submission=Submission(subject_kind="population.household",
                                          subject_id="h-1", division_code=VILLAGE, revision=1,
                                          title="住户"))
    hooks = AfterCommit()
    with hooks.active():  # as the consumer runs a handler
        async with w.store.transaction() as tx:
            ctx = intake.Inbound(w.store, tx, projections=w.projections, chains=memory_chains)
            await intake.handle(ctx, event)
            await intake.handle(ctx, inbound(household, "household-1"))
            unhandled = InboundEvent(**{**event.__dict__, "type": "agri.report.returned"})
            await intake.handle(ctx, unhandled)  # no handler: ignored
    hooks.run()
    opened = w.events()
    assert [e.data["submission"]["subject_kind"] for e in opened] == [
        "agri.report", "population.household"]
    assert opened[0].stream_id == f"case-{case_id_for('agri.report', str(report_id))}"
    assert opened[0].metadata["causation_id"] == str(event.id)
    assert opened[0].metadata["device"] == "phone-9" and w.wakes == 1


async def test_an_inbound_payload_that_does_not_validate_is_poison():
    w = World()
    event = inbound(report_submitted(uuid.uuid4()), "report-x")
    bad = InboundEvent(**{**event.__dict__, "data": {**event.data, "submission": None}})
    with pytest.raises(ValueError, match="invalid as v1: submission"):
        async with w.store.transaction() as tx:
            await intake.handle(intake.Inbound(w.store, tx, projections=w.projections,
                                               chains=memory_chains), bad)
    assert w.store.committed() == []


# -- reviewers' commands -------------------------------------------------------------------
async def test_an_approval_appends_projects_and_answers_the_case_view():
    w = World()
    case = await w.submit()
    view = await w.act("township", case, "approve", ApproveCase(expected_version=1, comment="无误"),
                       approve(ApproveCase(expected_version=1, comment="无误")))
    assert view["level"] == "county" and view["version"] == 2 and view["late"] is False
    [_, approved] = w.events()
    assert approved.type == "workflow.case.approved" and approved.metadata["role"] == \
        "township_statistician" and approved.metadata["device"] == "dev-township"
    assert w.views[view["case_id"]]["level"] == "county"
    assert w.projected[-1] == ("workflow.case.approved", False) and w.wakes == 2


async def test_a_retry_with_the_same_key_gets_the_same_answer_and_appends_nothing():
    w = World()
    case = await w.submit()
    body = AcceptCase(expected_version=1, comment="数据验收")
    first = await w.act("township", case, "accept", body, accept(body), key="k-1")
    again = await w.act("township", case, "accept", body, accept(body), key="k-1")
    assert again == first and first["accepted_early_by"] == "township"
    assert len(w.events()) == 2 and w.wakes == 2
    other = AcceptCase(expected_version=1, comment="另一个请求")
    with pytest.raises(AppError) as info:
        await w.act("township", case, "accept", other, accept(other), key="k-1")
    assert info.value.code == "idempotency_key_reused" and len(w.events()) == 2


async def test_refusals_write_nothing_and_wake_nobody():
    w = World()
    case = await w.submit()
    body = ApproveCase(expected_version=1)
    with pytest.raises(NotFound):  # another township's case looks absent
        await w.act("other_township", case, "approve", body, approve(body))
    with pytest.raises(NotYourTurn):
        await w.act("county", case, "approve", body, approve(body))
    stale = ApproveCase(expected_version=0)
    with pytest.raises(StaleVersion):
        await w.act("township", case, "approve", stale, approve(stale))
    with pytest.raises(NotFound):
        await w.act("township", {"case_id": str(uuid.uuid4())}, "approve", body, approve(body))
    assert len(w.events()) == 1 and w.wakes == 1 and w.store.open_transactions == 0


async def test_a_return_to_a_lower_level_is_recorded_with_its_field_notes():
    w = World()
    case = await w.submit()
    body = ApproveCase(expected_version=1)
    await w.act("township", case, "approve", body, approve(body))
    ret = ReturnCase(expected_version=2, reason_code="R01", reason="需乡镇复核",
                     field_notes={"A01": "偏高"}, to_level="township")
    view = await w.act("county", case, "return", ret, lambda c, a, now: dc.return_case(
        c, a, ret.expected_version, ret.reason_code, ret.reason, ret.field_notes,
        ret.to_level, now))
    assert view["level"] == "township" and view["sent_back"] and view["returns"] == 1
    assert w.events()[-1].data["field_notes"] == {"A01": "偏高"}


async def test_the_projector_folds_onto_the_handlers_case_only_when_the_versions_follow():
    w = World()
    case = await w.submit()
    body = ApproveCase(expected_version=1)
    await w.act("township", case, "approve", body, approve(body))
    events = await w.store.read_stream(case.stream_id)
    full = ReviewCase.replay(events)
    with projection.prior_state(case.stream_id, case):  # the case as loaded, at version 1
        assert projection._from_prior(case.stream_id, events[1:]) == full
        assert projection._from_prior(case.stream_id, events) is None  # not right before
    assert projection._from_prior(case.stream_id, events[1:]) is None  # no hint: read
    with projection.prior_state(case.stream_id, None):  # a new stream
        assert projection._from_prior(case.stream_id, events) == full
