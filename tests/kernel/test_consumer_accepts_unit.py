"""A consumer passes, without a transaction, events whose type it wants but that concern
someone else (`accepts`): another domain's review cases cost it nothing."""
from __future__ import annotations

import json
import uuid
from types import SimpleNamespace

import pytest

from gx_contracts.lifecycle import concerns
from gx_kernel.consumer import IdempotentConsumer

pytestmark = pytest.mark.unit


def record(data: dict, type_: str = "workflow.case.approved") -> SimpleNamespace:
    body = {"id": str(uuid.uuid4()), "type": type_, "stream_id": "case-1", "version": 1,
            "schema_version": 1, "data": data, "metadata": {}, "time": "2026-12-01T00:00:00Z"}
    return SimpleNamespace(value=json.dumps(body).encode(), key=b"case-1", headers=[],
                           topic="workflow.events", partition=0, offset=7)


async def test_an_event_it_does_not_accept_is_passed_without_touching_the_database():
    handled = []

    async def handler(conn, event):
        handled.append(event)

    # pool=None: any transaction would fail loudly
    consumer = IdempotentConsumer(pool=None, schema="x", group_id="g", topics=["t"],
                                  handler=handler, bootstrap="unused:9092",
                                  producer_factory=lambda: None,
                                  accepts=concerns("agri.report"))
    await consumer.process(record({"subject_kind": "registry.unit_form", "case_id": "c"}))
    await consumer.process(record({"submission": {"subject_kind": "population.household"}},
                                  "workflow.case.opened"))
    assert consumer.skipped == 2 and handled == [] and consumer.dead_lettered == 0


def test_concerns_reads_the_subject_kind_of_every_review_event_shape():
    accepts = concerns("agri.report")
    ev = lambda data: SimpleNamespace(data=data)  # noqa: E731
    assert accepts(ev({"subject_kind": "agri.report"}))
    assert accepts(ev({"submission": {"subject_kind": "agri.report"}}))
    assert not accepts(ev({"subject_kind": "registry.unit_form"}))
    assert not accepts(ev({"submission": "garbage"})) and not accepts(ev({}))
