"""What the system holds, read for the checker: event stores and read models from PostgreSQL,
the topics from the broker with a plain consumer, totals through the gateway. Also the two
broker-level faults: every record delivered twice, and a consumer group replayed from zero.
"""
from __future__ import annotations

import asyncio
import json
import time

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.structs import OffsetAndMetadata

from gx_contracts.roles import DEMO_PASSWORD

from .history import Case, Committed, Event, Observed, Record, Report
from .procstack import FaultStack

STORES = ("agri", "workflow")  # where the load's commands and reactions land
# The stack's consumer groups (without prefix) and whose topic each reads.
GROUPS = {"agri.workflow": "workflow", "workflow.intake": "agri"}


async def _fetch(stack: FaultStack, sql: str, *args):
    conn = await asyncpg.connect(stack.database_url)
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()


async def events(stack: FaultStack, service: str) -> list[Event]:
    rows = await _fetch(stack, f"SELECT id, stream_id, version, tx_id, type, metadata, data "
                               f"FROM {stack.schema(service)}.events ORDER BY tx_id, position")
    out = []
    for r in rows:
        meta = json.loads(r["metadata"]) if isinstance(r["metadata"], str) else r["metadata"]
        data = json.loads(r["data"]) if isinstance(r["data"], str) else r["data"]
        keep = data if r["stream_id"].startswith("report-") else {}
        out.append(Event(service, str(r["id"]), r["stream_id"], r["version"], r["tx_id"],
                         r["type"], (meta or {}).get("causation_id"), keep))
    return out


async def lag(stack: FaultStack, service: str) -> int:
    """Events in the store after the relay's checkpoint (not yet acknowledged by the broker)."""
    s = stack.schema(service)
    rows = await _fetch(stack, f"SELECT count(*) AS n FROM {s}.events e WHERE (e.tx_id, "
                               f"e.position) > (SELECT coalesce(max(c.tx_id), 0), "
                               f"coalesce(max(c.position), 0) FROM {s}.relay_checkpoints c "
                               f"WHERE c.name = 'relay')")
    return int(rows[0]["n"])


async def topic_records(stack: FaultStack, service: str, at_least: int,
                        timeout_s: float = 30.0) -> list[Record]:
    """Every record of the service's topic from the beginning: at least `at_least`, and then
    until nothing more comes for a second (end offsets are not trusted: Tansu under-reports)."""
    consumer = AIOKafkaConsumer(stack.topic(f"{service}.events"),
                                bootstrap_servers=stack.kafka_bootstrap, group_id=None,
                                auto_offset_reset="earliest", enable_auto_commit=False)
    await consumer.start()
    out: list[Record] = []
    try:
        deadline, quiet_since = time.monotonic() + timeout_s, time.monotonic()
        while time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=200)
            got = [r for recs in batch.values() for r in recs]
            for r in got:
                body = json.loads(r.value)
                out.append(Record(service, r.partition, r.offset, body["id"],
                                  body["stream_id"], int(body["version"])))
            now = time.monotonic()
            if got:
                quiet_since = now
            elif len(out) >= at_least and now - quiet_since > 1.0:
                break
    finally:
        await consumer.stop()
    return out


async def read_models(stack: FaultStack) -> tuple[list[Report], list[Case]]:
    reports = [Report(str(r["report_id"]), str(r["task_id"]), r["status"], r["revision"],
                      r["review_level"], json.loads(r["vals"]) if isinstance(r["vals"], str)
                      else r["vals"])
               for r in await _fetch(stack, f"SELECT report_id, task_id, status, revision, "
                                            f"review_level, vals FROM "
                                            f"{stack.schema('agri')}.reports")]
    cases = [Case(str(r["case_id"]), r["subject_id"], r["status"], r["level"], r["revision"])
             for r in await _fetch(stack, f"SELECT case_id, subject_id, status, level, revision "
                                          f"FROM {stack.schema('workflow')}.cases "
                                          f"WHERE subject_kind = 'agri.report'")]
    return reports, cases


async def totals(stack: FaultStack, tasks: list[str]) -> tuple[dict, dict]:
    """Each task's totals for 长塘镇 (basis submitted) as the township sees them."""
    out, decimals = {}, {}
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=10) as client:
        r = await client.post("/api/v1/auth/login",
                              json={"username": "changtang_zhen", "password": DEMO_PASSWORD})
        auth = {"Authorization": f"Bearer {r.json()['access_token']}"}
        for task in tasks:
            r = await client.get(f"/api/v1/agri/tasks/{task}/totals", headers=auth,
                                 params={"division": "450103103000", "basis": "submitted"})
            assert r.status_code == 200, r.text
            body = r.json()
            out[task] = body["totals"]
            decimals.update({i["code"]: i.get("decimals") or 0 for i in body["indicators"]})
    return out, decimals


async def committed(stack: FaultStack) -> list[Committed]:
    """Each consumer group's committed offsets on its topic (an OffsetFetch as a non-member:
    Tansu's admin API cannot list them)."""
    out = []
    for group, service in GROUPS.items():
        topic = stack.topic(f"{service}.events")
        consumer = AIOKafkaConsumer(bootstrap_servers=stack.kafka_bootstrap,
                                    group_id=f"{stack.prefix}.{group}",
                                    enable_auto_commit=False)
        await consumer.start()
        try:
            await consumer.topics()  # metadata of every topic
            for p in sorted(consumer.partitions_for_topic(topic) or ()):
                out.append(Committed(group, service, p,
                                     await consumer.committed(TopicPartition(topic, p))))
        finally:
            await consumer.stop()
    return out


async def observe(stack: FaultStack, tasks: list[str]) -> Observed:
    offsets = await committed(stack)  # first: every record read later must be behind them
    evs = [e for s in STORES for e in await events(stack, s)]
    records = []
    for s in STORES:
        records += await topic_records(stack, s, sum(e.service == s for e in evs))
    reports, cases = await read_models(stack)
    tot, dec = await totals(stack, tasks)
    return Observed(evs, records, reports, cases, tot, dec, offsets)


async def settle(stack: FaultStack, timeout_s: float = 90.0) -> float:
    """Wait until both relays published everything and every report agrees with its case
    (the consumers caught up); the seconds it took. Gives up silently at the timeout: the
    checker then names what is still off."""
    from .history import check_reports

    start = time.monotonic()
    while time.monotonic() - start < timeout_s:
        try:
            lags = [await lag(stack, s) for s in STORES]
            if not any(lags) and not check_reports(*await read_models(stack)):
                await asyncio.sleep(1.0)  # and it stays so (nothing in flight)
                lags = [await lag(stack, s) for s in STORES]
                if not any(lags) and not check_reports(*await read_models(stack)):
                    break
        except (OSError, asyncpg.PostgresError):
            pass
        await asyncio.sleep(0.5)
    return time.monotonic() - start


# -- broker-level faults ----------------------------------------------------------------------
async def duplicate_topic(stack: FaultStack, service: str) -> int:
    """Send every record of the topic again (same key, value, headers: same partition): each
    event is then delivered twice. Returns how many were sent."""
    topic = stack.topic(f"{service}.events")
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=stack.kafka_bootstrap, group_id=None,
                                auto_offset_reset="earliest", enable_auto_commit=False)
    await consumer.start()
    raw = []
    try:
        quiet = 0
        while quiet < 5:
            batch = await consumer.getmany(timeout_ms=200)
            got = [r for recs in batch.values() for r in recs]
            raw += got
            quiet = 0 if got else quiet + 1
    finally:
        await consumer.stop()
    producer = AIOKafkaProducer(bootstrap_servers=stack.kafka_bootstrap, acks="all",
                                enable_idempotence=False)
    await producer.start()
    try:
        futures = [await producer.send(topic, value=r.value, key=r.key,
                                       headers=list(r.headers or ()), partition=r.partition)
                   for r in raw]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()
    return len(raw)


async def rewind_group(stack: FaultStack, group: str, topic: str,
                       timeout_s: float = 40.0) -> float:
    """Commit offset 0 on every partition of `topic` for `group` (its members stopped): it
    replays everything when they come back. Returns the seconds it took.

    As a member of the group, not by a standalone commit: Tansu refuses those
    (UnknownMemberId) for a group that ever had members. The wait covers a member that died
    without leaving (gone after its session timeout, 10 s)."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=stack.kafka_bootstrap, group_id=group,
                                enable_auto_commit=False, auto_offset_reset="earliest")
    start = time.monotonic()
    await consumer.start()
    try:
        deadline = start + timeout_s
        while True:
            wanted = consumer.partitions_for_topic(topic) or set()
            held = {tp.partition for tp in consumer.assignment()}
            if wanted and held >= wanted:
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"{group}: holds partitions {sorted(held)} of "
                                   f"{sorted(wanted)} after {timeout_s:.0f}s (another member "
                                   f"still in the group?)")
            await consumer.getmany(timeout_ms=200)  # joins, rebalances
        tps = sorted(consumer.assignment())
        await consumer.commit({tp: OffsetAndMetadata(0, "") for tp in tps})
        for tp in tps:
            assert await consumer.committed(tp) == 0, f"{group} {tp}: rewind not committed"
        return time.monotonic() - start
    finally:
        await consumer.stop()
