"""ReviewCase loads from its stream through the contracts' decode (unit, in-memory store).

A case stream written by commit 820aedc's payload classes (the fixture of
tests/contracts/test_old_events.py) replays into today's ReviewCase: typed payloads, the fields
added since taking the old meaning; an unreadable event is refused with a ValueError.
"""
from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from gx_contracts.divisions import Level
from gx_contracts.events import EventDecodeError
from gx_kernel.eventstore import NewEvent
from gx_kernel.memstore import InMemoryEventStore

from gx_workflow.domain.case import CaseStatus, ReviewCase

pytestmark = pytest.mark.unit
OLD = {e["type"]: e for e in json.loads(
    (Path(__file__).parents[1] / "contracts" / "fixtures" / "events_820aedc.json")
    .read_text(encoding="utf-8"))["events"]}


def old(kind: str) -> NewEvent:
    e = OLD[f"workflow.case.{kind}"]
    return NewEvent(e["type"], copy.deepcopy(e["data"]), schema_version=e["schema_version"])


async def test_a_case_stream_stored_by_older_code_replays_through_decode():
    store = InMemoryEventStore("workflow")
    case_id = OLD["workflow.case.opened"]["data"]["case_id"]
    stream = f"case-{case_id}"
    await store.append(stream, 0, [old(k) for k in ("opened", "approved", "accepted",
                                                    "overdue", "reopened")])
    case = ReviewCase.replay(await store.read_stream(stream))
    assert case is not None and case.version == 5 and str(case.case_id) == case_id
    assert case.subject_kind == "agri.report" and case.revision == 2
    assert case.early_accept_levels == (Level.township,)
    assert case.watch_levels == () and case.chain_profile is None  # added since: defaults
    assert case.field_labels == {}  # 空 = 未知
    assert case.status is CaseStatus.in_review and case.level is Level.region
    assert case.early_accepted_level is Level.township and case.accepted_level is None
    assert case.last_action == "reopened" and not case.late  # a new holding after the notice
    assert case.deadline is not None and case.deadline.utcoffset() is not None


@pytest.mark.parametrize("schema_version, drop", [(99, None), (1, "to_level")])
async def test_an_unreadable_stored_event_is_refused_on_replay(schema_version, drop):
    """Newer than this code knows, or invalid: a ValueError (EventDecodeError) naming it."""
    store = InMemoryEventStore("workflow")
    approved = old("approved")
    if drop:
        del approved.data[drop]
    await store.append("case-x", 0, [old("opened"), NewEvent(approved.type, approved.data,
                                                             schema_version=schema_version)])
    with pytest.raises(EventDecodeError, match=drop or "newer"):
        ReviewCase.replay(await store.read_stream("case-x"))
