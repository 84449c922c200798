"""A Jepsen-like history of client operations, and the checker run over it afterwards.

Every command a client sends is recorded when invoked and when it completes:
  ok       the service answered 2xx: the command was acknowledged;
  failed   a definite refusal (4xx other than 'still in progress'): it had no effect;
  unknown  no answer that tells (connection lost, timeout, 5xx, 'in progress'), after every
           retry with the same Idempotency-Key: it may or may not have taken effect.
The Idempotency-Key travels into the events as `metadata.causation_id`, so the checker finds
each command's effect in the event store: the transactions that wrote events caused by it.

`check(history, observed)` compares the history with what the system holds afterwards (the
event stores, the topics, the read models) and returns every anomaly. Pure: no I/O.
"""
from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

OUTCOMES = ("invoked", "ok", "failed", "unknown")
# Report status on the agri side for a case status on the workflow side.
REPORT_FOR_CASE = {"in_review": {"submitted", "accepted"}, "returned": {"returned"},
                   "accepted": {"confirmed"}}
COUNTED = {"submitted", "accepted", "confirmed"}  # what totals add up (basis=submitted)


@dataclass
class Op:
    id: int
    process: str  # the client (a user) that sent it
    kind: str  # publish | draft | submit | approve | return | accept
    service: str  # whose event store holds its effect
    key: str  # Idempotency-Key = causation_id of the events it causes
    subject: str  # report or case id (as the client knew it)
    invoked_at: float
    outcome: str = "invoked"
    completed_at: float | None = None
    status: int | None = None
    attempts: int = 0
    detail: str = ""


class History:
    def __init__(self) -> None:
        self.ops: list[Op] = []

    def invoke(self, process: str, kind: str, service: str, key: str, subject: str) -> Op:
        op = Op(len(self.ops), process, kind, service, key, subject, time.monotonic())
        self.ops.append(op)
        return op

    def complete(self, op: Op, outcome: str, status: int | None = None,
                 detail: str = "") -> None:
        if outcome not in OUTCOMES[1:]:
            raise ValueError(f"outcome {outcome!r}")
        if op.outcome != "invoked":
            raise ValueError(f"op {op.id} completed twice")
        op.outcome, op.status, op.detail = outcome, status, detail[:300]
        op.completed_at = time.monotonic()

    def counts(self) -> dict[str, int]:
        out = {o: 0 for o in OUTCOMES}
        for op in self.ops:
            out[op.outcome] += 1
        return out


# -- what the system holds afterwards -------------------------------------------------------
@dataclass(frozen=True)
class Event:
    service: str
    id: str
    stream_id: str
    version: int
    tx_id: int
    type: str
    causation: str | None
    data: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class Record:
    """One record read from a service's topic, in (partition, offset) order."""

    service: str
    partition: int
    offset: int
    id: str
    stream_id: str
    version: int


@dataclass(frozen=True)
class Report:
    report_id: str
    task_id: str
    status: str
    revision: int
    review_level: str | None
    vals: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class Case:
    case_id: str
    subject_id: str
    status: str
    level: str
    revision: int


@dataclass(frozen=True)
class Committed:
    """A consumer group's committed offset on one partition of a service's topic (None: the
    group never committed there)."""

    group: str
    service: str
    partition: int
    offset: int | None


@dataclass
class Observed:
    events: list[Event]
    records: list[Record]
    reports: list[Report]
    cases: list[Case]
    # per task: the totals the service computes (indicator -> value), and the decimals per
    # indicator it rounds to
    totals: dict[str, dict[str, float]] = field(default_factory=dict)
    decimals: dict[str, int] = field(default_factory=dict)
    # the platform's consumer groups, read before everything else
    committed: list[Committed] = field(default_factory=list)


@dataclass(frozen=True)
class Anomaly:
    kind: str
    what: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.what}"


# -- the checker ----------------------------------------------------------------------------
def effects(events: list[Event]) -> dict[tuple[str, str], set[int]]:
    """(service, causation id) -> the transactions that wrote events caused by it."""
    out: dict[tuple[str, str], set[int]] = defaultdict(set)
    for e in events:
        if e.causation:
            out[(e.service, e.causation)].add(e.tx_id)
    return out


def check_commands(ops: list[Op], events: list[Event]) -> list[Anomaly]:
    """Acknowledged: exactly one effect. Unknown: at most one. Failed: none."""
    found = effects(events)
    out = []
    for op in ops:
        n = len(found.get((op.service, op.key), ()))
        if op.outcome == "ok" and n != 1:
            out.append(Anomaly("acknowledged_not_once",
                               f"op {op.id} {op.kind} {op.subject} key {op.key}: {n} effects"))
        elif op.outcome == "unknown" and n > 1:
            out.append(Anomaly("unknown_twice", f"op {op.id} {op.kind} {op.subject}: {n} effects"))
        elif op.outcome == "failed" and n:
            out.append(Anomaly("failed_with_effect",
                               f"op {op.id} {op.kind} {op.subject} ({op.status}): {n} effects"))
        elif op.outcome == "invoked":
            out.append(Anomaly("never_completed", f"op {op.id} {op.kind} {op.subject}"))
    return out


def check_reactions(ops: list[Op], events: list[Event]) -> list[Anomaly]:
    """An event a consumer reacted to caused its effect in one transaction, never two (a
    redelivered or duplicated record adds nothing)."""
    keys = {(op.service, op.key) for op in ops}
    return [Anomaly("reaction_twice", f"{service}: event {cause} caused {len(txs)} transactions")
            for (service, cause), txs in sorted(effects(events).items())
            if (service, cause) not in keys and len(txs) > 1]


def check_streams(events: list[Event]) -> list[Anomaly]:
    """In each store, every stream's versions are 1..n, each once."""
    by_stream: dict[tuple[str, str], list[int]] = defaultdict(list)
    for e in events:
        by_stream[(e.service, e.stream_id)].append(e.version)
    return [Anomaly("store_versions", f"{s} {stream}: {sorted(v)[:20]}")
            for (s, stream), v in sorted(by_stream.items())
            if sorted(v) != list(range(1, len(v) + 1))]


def check_topics(events: list[Event], records: list[Record]) -> list[Anomaly]:
    """Every stored event is on its service's topic; nothing on it that was never stored; per
    stream one partition, and the first sight of each version comes in order 1, 2, 3 …
    (a record seen again later — a duplicate, a re-publication — is harmless)."""
    out = []
    on_topic = {(r.service, r.id) for r in records}
    stored = {(e.service, e.id) for e in events}
    missing = sorted(stored - on_topic)
    for service, event_id in missing[:20]:
        out.append(Anomaly("not_on_topic", f"{service} event {event_id}"))
    if len(missing) > 20:
        out.append(Anomaly("not_on_topic", f"… and {len(missing) - 20} more"))
    for service, event_id in sorted(on_topic - stored)[:20]:
        out.append(Anomaly("not_in_store", f"{service} record {event_id}"))
    first: dict[tuple[str, str], list[int]] = defaultdict(list)
    partitions: dict[tuple[str, str], set[int]] = defaultdict(set)
    for r in sorted(records, key=lambda r: (r.service, r.partition, r.offset)):
        key = (r.service, r.stream_id)
        partitions[key].add(r.partition)
        if r.version not in first[key]:
            first[key].append(r.version)
    for key, versions in sorted(first.items()):
        if len(partitions[key]) > 1:
            out.append(Anomaly("stream_split", f"{key[0]} {key[1]} on {sorted(partitions[key])}"))
        if versions != list(range(1, len(versions) + 1)):
            out.append(Anomaly("topic_order", f"{key[0]} {key[1]}: {versions[:20]}"))
    return out


def check_consumers(records: list[Record], committed: list[Committed]) -> list[Anomaly]:
    """Every consumer group got past the last record on every partition of its topic (read
    after its offsets): none is stuck, every duplicate and replayed record was consumed."""
    ends: dict[tuple[str, int], int] = {}
    for r in records:
        ends[(r.service, r.partition)] = max(ends.get((r.service, r.partition), 0), r.offset + 1)
    at = {(c.group, c.service, c.partition): c.offset for c in committed}
    out = []
    for group, service in sorted({(c.group, c.service) for c in committed}):
        for (s, partition), end in sorted(ends.items()):
            offset = at.get((group, service, partition))
            if s == service and (offset or 0) < end:
                out.append(Anomaly("consumer_behind", f"{group} on {service} partition "
                                   f"{partition}: committed {offset}, records up to {end}"))
    return out


def check_reports(reports: list[Report], cases: list[Case]) -> list[Anomaly]:
    """Every report sent for review agrees with its case (revision, status, level), and every
    case has its report."""
    out = []
    by_subject: dict[str, list[Case]] = defaultdict(list)
    for c in cases:
        by_subject[c.subject_id].append(c)
    known = {r.report_id for r in reports}
    for r in reports:
        found = by_subject.get(r.report_id, [])
        if r.revision == 0:
            if found:
                out.append(Anomaly("case_without_submission", f"report {r.report_id}"))
            continue
        if len(found) != 1:
            out.append(Anomaly("report_case_mismatch",
                               f"report {r.report_id} ({r.status}) has {len(found)} cases"))
            continue
        c = found[0]
        if (c.revision != r.revision or r.status not in REPORT_FOR_CASE.get(c.status, ())
                or (c.status == "in_review" and r.status == "submitted"
                    and c.level != r.review_level)):
            out.append(Anomaly("report_case_mismatch",
                               f"report {r.report_id} {r.status}@{r.review_level} r{r.revision}"
                               f" vs case {c.status}@{c.level} r{c.revision}"))
    for subject in sorted(set(by_subject) - known):
        out.append(Anomaly("case_without_report", f"subject {subject}"))
    return out


def last_values(events: list[Event]) -> dict[str, dict[str, Any]]:
    """Per report id, the values of its last saved or submitted event (the record)."""
    out: dict[str, dict[str, Any]] = {}
    for e in sorted(events, key=lambda e: (e.stream_id, e.version)):
        if e.type in ("agri.report.draft_saved", "agri.report.submitted") \
                and "values" in e.data:
            out[e.stream_id.removeprefix("report-")] = e.data["values"]
    return out


def _close(a: Any, b: Any, decimals: int) -> bool:
    return abs(Decimal(str(a)) - Decimal(str(b))) <= Decimal(1).scaleb(-decimals) / 2


def check_totals(observed: Observed) -> list[Anomaly]:
    """Each report row holds the values of its last record in the store, and each task's
    totals equal the sum of its counted reports' values."""
    out = []
    recorded = last_values([e for e in observed.events if e.service == "agri"])
    sums: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for r in observed.reports:
        if (r.revision or r.vals) and recorded.get(r.report_id, {}) != r.vals:
            out.append(Anomaly("report_not_its_record", f"report {r.report_id}"))
        if r.status in COUNTED:
            for code, v in r.vals.items():
                if isinstance(v, (int, float)) and not isinstance(v, bool):
                    sums[r.task_id][code] += Decimal(str(v))
    for task, totals in sorted(observed.totals.items()):
        want = sums.get(task, {})
        for code in sorted(set(totals) | set(want)):
            got, exp = totals.get(code, 0) or 0, want.get(code, Decimal(0))
            if not _close(got, exp, observed.decimals.get(code, 0)):
                out.append(Anomaly("totals_mismatch", f"task {task} {code}: {got} != Σ {exp}"))
    return out


def check(history: History, observed: Observed) -> list[Anomaly]:
    return (check_commands(history.ops, observed.events)
            + check_reactions(history.ops, observed.events)
            + check_streams(observed.events)
            + check_topics(observed.events, observed.records)
            + check_consumers(observed.records, observed.committed)
            + check_reports(observed.reports, observed.cases)
            + check_totals(observed))


def figures(history: History, observed: Observed, faults: list[str],
            anomalies: list[Anomaly]) -> dict[str, Any]:
    counts = history.counts()
    return {"operations": len(history.ops), "ok": counts["ok"], "failed": counts["failed"],
            "unknown": counts["unknown"],
            "retried": sum(op.attempts > 1 for op in history.ops),
            "faults_injected": len(faults), "faults": list(faults),
            "events_checked": len(observed.events), "topic_records": len(observed.records),
            "reports": len(observed.reports), "cases": len(observed.cases),
            "anomalies": len(anomalies),
            "not_ok": [f"op {op.id} {op.kind} {op.subject} {op.outcome} ({op.status}): "
                       f"{op.detail[:160]}" for op in history.ops if op.outcome != "ok"][:10]}
