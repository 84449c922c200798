"""The fault tests' checker on hand-made histories: it must find what it claims to find."""
from __future__ import annotations

import pytest

from .history import (
    Committed,
    Event,
    History,
    Observed,
    Record,
    check_commands,
    check_consumers,
    check_reactions,
    check_streams,
    check_topics,
)

pytestmark = pytest.mark.unit


def ev(stream: str, version: int, tx: int, cause: str | None, eid: str = "") -> Event:
    return Event("agri", eid or f"{stream}-{version}", stream, version, tx, "t", cause)


def history(*outcomes: str) -> History:
    h = History()
    for i, outcome in enumerate(outcomes):
        op = h.invoke("p", "submit", "agri", f"k{i}", f"r{i}")
        if outcome != "invoked":
            h.complete(op, outcome)
    return h


def kinds(anomalies) -> list[str]:
    return sorted(a.kind for a in anomalies)


def test_a_clean_history_has_no_anomaly():
    h = history("ok", "unknown", "failed")
    events = [ev("s1", 1, 10, "k0"), ev("s2", 1, 11, "k1")]
    assert check_commands(h.ops, events) == []
    assert check_streams(events) == []


def test_acknowledged_twice_or_never_is_found():
    h = history("ok", "ok")
    events = [ev("s1", 1, 10, "k0"), ev("s1", 2, 11, "k0")]  # k0 in two transactions, k1 none
    assert kinds(check_commands(h.ops, events)) == ["acknowledged_not_once"] * 2


def test_unknown_twice_failed_with_effect_and_never_completed():
    h = history("unknown", "failed", "invoked")
    events = [ev("s1", 1, 10, "k0"), ev("s1", 2, 12, "k0"), ev("s2", 1, 13, "k1")]
    assert kinds(check_commands(h.ops, events)) == [
        "failed_with_effect", "never_completed", "unknown_twice"]


def test_a_reaction_in_two_transactions_is_found():
    h = history("ok")
    events = [ev("s1", 1, 10, "k0"), ev("c1", 1, 20, "evt-9"), ev("c1", 2, 21, "evt-9")]
    assert kinds(check_reactions(h.ops, events)) == ["reaction_twice"]


def test_a_gap_or_a_repeated_version_is_found():
    events = [ev("s1", 1, 1, None), ev("s1", 3, 2, None), ev("s2", 1, 3, None),
              ev("s2", 1, 4, None, eid="dup")]
    assert kinds(check_streams(events)) == ["store_versions"] * 2


def test_an_event_missing_from_its_topic_is_found():
    events = [ev("s1", 1, 1, None), ev("s1", 2, 2, None)]
    records = [Record("agri", 0, 0, "s1-1", "s1", 1)]
    assert check_topics(events, records) != []
    full = records + [Record("agri", 0, 1, "s1-2", "s1", 2)]
    assert check_topics(events, full) == []
    assert Observed(events, full, [], []).events == events


def test_a_consumer_group_behind_its_topic_is_found():
    records = [Record("agri", 0, 0, "a", "s1", 1), Record("agri", 0, 1, "b", "s1", 2),
               Record("agri", 1, 0, "c", "s2", 1), Record("workflow", 0, 5, "d", "c1", 1)]
    caught_up = [Committed("g", "agri", 0, 2), Committed("g", "agri", 1, 1)]
    assert check_consumers(records, caught_up) == []
    behind = [Committed("g", "agri", 0, 1), Committed("g", "agri", 2, None)]  # 1: never
    assert [a.what.split(":")[0] for a in check_consumers(records, behind)] == [
        "g on agri partition 0", "g on agri partition 1"]
