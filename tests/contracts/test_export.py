"""Generated files are up to date; naming rules; schemas are valid JSON Schema."""

import functools
import json
import re

import jsonschema
import pytest
import yaml

from gx_contracts import export
from gx_contracts.asyncapi import build_asyncapi
from gx_contracts.commands import COMMANDS
from gx_contracts.events import EVENT_TYPES

EXPECTED_TYPES = {
    "agri.task.published", "agri.report.draft_saved", "agri.report.submitted", "agri.report.returned",
    "agri.report.accepted", "agri.report.review_followed", "agri.report.history_adopted",
    "workflow.case.opened", "workflow.case.approved", "workflow.case.returned",
    "workflow.case.resubmitted", "workflow.case.accepted", "workflow.case.reopened", "workflow.case.overdue",
    "registry.grid.created", "registry.import.completed", "registry.import.failed",
    "registry.import.started", "registry.review.opened", "registry.review.resolved",
    "registry.round.opened", "registry.task.assigned", "registry.task.returned_up",
    "registry.task.transferred_out", "registry.tasklist.pushed_down", "registry.unit.changed",
    "registry.unit.classified", "registry.unit.closed", "registry.unit.confirmed",
    "registry.unit.flagged", "registry.unit.moved", "registry.unit.registered",
    "registry.unit.transferred_out", "registry.unit_form.accepted",
    "registry.unit_form.draft_saved", "registry.unit_form.returned", "registry.unit_form.submitted",
    "registry.unit_form.opened", "registry.unit_form.review_followed",
    "registry.unit_form.history_adopted",
    "organisation.office.recorded", "organisation.appointment.recorded",
    "organisation.appointment.ended", "organisation.reform.scoped", "organisation.reform.county_chosen",
    "organisation.plan.filed", "organisation.leading_group.recorded",
    "organisation.progress_report.draft_saved", "organisation.progress_report.submitted",
    "organisation.progress_report.returned", "organisation.progress_report.accepted",
    "organisation.progress_report.review_followed",
    "organisation.subsidy_rates.set", "organisation.workload.recorded", "organisation.training.recorded",
    "organisation.assessment.scored",
    "population.household.submitted", "population.exam.published", "population.enumerator.tested",
    "population.area.imported", "population.area.assigned", "population.area.verified",
    "population.household.draft_saved", "population.household.read_back_confirmed",
    "population.household.handed_in", "population.household.recheck_returned",
    "population.household.returned", "population.household.accepted", "population.person.erased",
    "population.person_record.accessed", "population.roster.saved", "population.roster.reviewed",
    "population.change.reported", "population.ledger.adjusted", "population.admin_figures.recorded",
    "population.discrepancy.explained", "population.pes.sample_drawn", "population.pes.team_assigned",
    "population.pes.check_recorded", "population.pes.matched",
    "population.household.review_followed", "population.area_correction.submitted",
    "population.area_correction.review_followed", "population.area_correction.returned",
    "population.area_correction.accepted", "population.area.map_uploaded",
    "population.personal_record.erased", "population.household.history_adopted",
    "gateway.user.created", "gateway.user.unlocked", "gateway.device.requested",
    "gateway.device.request_approved", "gateway.device.request_rejected", "gateway.device.enrolled",
    "gateway.device.revoked", "gateway.subscription.granted", "gateway.subscription.revoked",
}
# "overdue" names a state the case passed into (became overdue); "set" and "chosen" are
# irregular past participles (organisation.subsidy_rates.set, .reform.county_chosen). Every
# other action has a word ending in -ed.
PAST_TENSE_EXCEPTIONS = {"overdue", "set", "chosen", "drawn"}  # drawn: population.pes.sample_drawn


@pytest.fixture(autouse=True, scope="module")
def _generate_once():
    """generate() is pure and slow (pydantic schemas, FastStream, YAML, ~0.5 s): the checks
    below (check, --check, write to a temporary root) all compare against its one result."""
    files = export.generate()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(export, "generate", lambda: dict(files))
        yield


@functools.cache
def asyncapi_doc() -> dict:
    """contracts/asyncapi.yaml parsed once, by libyaml when present (~6x the Python parser)."""
    text = (export.contracts_dir() / "asyncapi.yaml").read_text(encoding="utf-8")
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def test_exported_files_are_up_to_date():
    assert export.check() == [], "run: python -m gx_contracts.export"
    assert export.main(["--check"]) == 0


def test_check_detects_stale_and_changed_files(tmp_path):
    assert export.main(["--root", str(tmp_path), "--check"]) == 1
    export.write(tmp_path)
    assert export.check(tmp_path) == []
    (tmp_path / "schemas/events/zzz.old.v1.json").write_text("{}")
    (tmp_path / "asyncapi.yaml").write_text("x")
    assert sorted(export.check(tmp_path)) == ["out of date: asyncapi.yaml", "stale: schemas/events/zzz.old.v1.json"]


def test_event_type_names():
    assert set(EVENT_TYPES) == EXPECTED_TYPES
    for name in EVENT_TYPES:
        assert re.fullmatch(r"^[a-z]+\.[a-z_]+\.[a-z_]+$", name), name
        action = name.rsplit(".", 1)[1]  # e.g. submitted, draft_saved, transferred_out
        assert any(w.endswith("ed") or w in PAST_TENSE_EXCEPTIONS for w in action.split("_")), name


def test_generated_json_schemas_are_valid():
    files = export.generate()
    assert sum(rel.endswith(".json") for rel in files) == len(EXPECTED_TYPES) + len(COMMANDS) + 1
    for rel, content in files.items():
        if rel.endswith(".json"):
            jsonschema.Draft202012Validator.check_schema(json.loads(content))


def test_asyncapi_describes_topics_key_and_headers():
    doc = asyncapi_doc()
    assert doc["asyncapi"].startswith("3.")
    topics = {"agri.events", "workflow.events", "registry.events", "population.events"}
    assert set(doc["channels"]) >= topics | {f"{t}.dlq" for t in topics}
    assert set(doc["channels"]["workflow.events"]["messages"]) == {
        t for t in EXPECTED_TYPES if t.startswith("workflow.")}
    msg = doc["components"]["messages"]["agri.report.submitted"]
    assert msg["bindings"]["kafka"]["key"]["type"] == "string"
    assert msg["headers"]["properties"]["ce_type"]["const"] == "agri.report.submitted"
    assert {"ce_id", "ce_source", "ce_time", "ce_subject", "traceparent"} <= set(msg["headers"]["properties"])
    assert "murmur2" in doc["info"]["description"]


def test_asyncapi_is_the_services_real_wiring():
    """Every consumer group a service declares is a receive operation on each of its topics
    (with its DLQ written); every relay topic with contract types is a send operation."""
    from gx_kernel.service import installed_wirings

    doc = asyncapi_doc()
    ops = doc["operations"]
    wirings = installed_wirings()
    assert {"agri", "workflow", "registry", "population"} <= {w.service for w in wirings}
    receive = {(sub.group_id, t) for w in wirings for sub in w.subscriptions for t in sub.topics}
    assert ("workflow.intake", "agri.events") in receive and ("agri.workflow", "workflow.events") in receive
    assert {(o["bindings"]["kafka"]["groupId"]["enum"][0], o["channel"]["$ref"].rsplit("/", 1)[1])
            for o in ops.values() if o["action"] == "receive"} == receive
    sent = {o["channel"]["$ref"].rsplit("/", 1)[1] for o in ops.values() if o["action"] == "send"}
    relayed = {w.publishes for w in wirings if w.publishes and any(
        t.startswith(w.publishes.removesuffix("events")) for t in EVENT_TYPES)}
    assert sent == relayed | {f"{t}.dlq" for _, t in receive}


def test_a_new_consumer_group_shows_up_in_the_document():
    from gx_kernel.consumer import Subscription
    from gx_kernel.service import Wiring

    doc = build_asyncapi([Wiring("agri", [Subscription("agri.audit", ("registry.events",))], "agri.events")])
    assert set(doc["channels"]) == {"agri.events", "registry.events", "registry.events.dlq"}
    op = doc["operations"]["receive.agri.audit.registry.events"]
    assert op["action"] == "receive" and op["bindings"]["kafka"]["groupId"]["enum"] == ["agri.audit"]
    assert "publish.agri.events" in doc["operations"] and "publish.registry.events" not in doc["operations"]
    assert doc["components"]["messages"]["registry.events.dlq"]["payload"] == {
        "$ref": "#/components/schemas/KafkaEnvelope"}


def test_event_json_schema_accepts_a_real_payload():
    from uuid import uuid4

    schema = json.loads((export.contracts_dir() / "schemas/events/workflow.case.approved.v1.json").read_text())
    assert schema["x-event-type"] == "workflow.case.approved"
    jsonschema.validate({"case_id": str(uuid4()), "subject_kind": "agri.report", "subject_id": "r1",
                         "division_code": "450103103201", "revision": 1, "from_level": "township",
                         "to_level": "county", "comment": ""}, schema)
