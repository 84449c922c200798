"""The ops metrics (issue 14 §5) read back through an OpenTelemetry reader, after real work on
PostgreSQL and the broker: consumer lag per group and topic rises while records wait and falls
to 0 once they are consumed; dead-letter depth counts poisoned records per topic; a service's
requests are counted, timed and their 5xx counted per route template with the status code.

Each test puts the kernel's instruments on a MeterProvider of its own with an
InMemoryMetricReader (`metrics.instrument`, as tests/kernel/test_relay_stuck.py does): the
global provider is set once per process, and a fresh provider starts its sums at zero.
"""
import asyncio
from typing import Any

import httpx
import pytest
from fastapi import APIRouter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from gx_kernel import metrics
from gx_kernel.consumer import IdempotentConsumer
from gx_kernel.errors import NotFound
from gx_kernel.eventstore import NewEvent
from gx_kernel.kafka import ensure_topics, make_producer
from gx_kernel.service import create_service_app
from gx_kernel.settings import ServiceSettings

from ..harness import serving, wait_for
from .test_consumer_contract import effects_table, publish

LAG, DLQ = "gx.consumer.lag", "gx.dlq.depth"
DURATION, ERRORS = "http.server.request.duration", "gx.http.server.errors"


@pytest.fixture
def reader():
    provider = MeterProvider(metric_readers=[reader := InMemoryMetricReader()])
    metrics.instrument(provider.get_meter("test"))
    yield reader
    provider.shutdown()


def points(reader: InMemoryMetricReader, name: str) -> dict[frozenset, Any]:
    """One instrument's data points as exported: attributes -> the point."""
    data = reader.get_metrics_data()
    return {frozenset(p.attributes.items()): p
            for rm in (data.resource_metrics if data else ()) for sm in rm.scope_metrics
            for m in sm.metrics if m.name == name for p in m.data.data_points}


def lag_of(group: str, topic: str) -> frozenset:
    return frozenset({"gx.consumer.group": group, "messaging.destination.name": topic}.items())


def on_topic(topic: str) -> frozenset:
    return frozenset({"messaging.destination.name": topic}.items())


def consumer(pool, schema, infra, group, topics, handler) -> IdempotentConsumer:
    return IdempotentConsumer(
        pool=pool, schema=schema, group_id=group, topics=topics, handler=handler,
        bootstrap=infra.kafka_bootstrap,
        producer_factory=lambda: make_producer(infra.kafka_bootstrap, False),
        max_attempts=2, retry_backoff=0.01)


async def sampled(infra, prefix, done, **declared) -> metrics.BrokerSample:
    """Sample the broker until `done(sample)` (commits land a little after processing)."""
    async def look():
        sample = await metrics.sample_broker(infra.kafka_bootstrap, prefix, **declared)
        assert sample.error is None, sample.error
        return sample if done(sample) else None
    return await wait_for(look, timeout=30, interval=0.2)


async def stop(task: asyncio.Task) -> None:
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_consumer_lag_rises_while_records_wait_and_falls_to_zero_once_consumed(
        pool, schema, store, infra, prefix, reader):
    topic, group = f"{prefix}src.events", f"{prefix}sink.projection"
    await ensure_topics(infra.kafka_bootstrap, [topic], partitions=1)
    await ensure_topics(infra.kafka_bootstrap, [f"{topic}.dlq"], partitions=1)
    await effects_table(pool, schema)
    events = [e for i in range(5) for e in await store.append(
        f"s{i}", 0, [NewEvent("src.thing.happened", {"n": i})])]

    async def handler(conn, event):
        await conn.execute(f"INSERT INTO {schema}.effects VALUES ($1, $2)", event.id,
                           event.data["n"])

    first = consumer(pool, schema, infra, group, [topic], handler)
    task = asyncio.create_task(first.run())
    try:
        await publish(infra, topic, store, events[:2])
        await wait_for(lambda: asyncio.sleep(0, first.processed >= 2), timeout=30)
        await sampled(infra, prefix, lambda s: s.consumer_lag.get((group, topic)) == 0)
    finally:
        await stop(task)
    assert points(reader, LAG)[lag_of(group, topic)].value == 0

    # The group is down while three more records arrive: they wait, and the gauge says so.
    await publish(infra, topic, store, events[2:])
    await sampled(infra, prefix, lambda s: s.topic_end.get(topic) == 5)
    lag = points(reader, LAG)
    assert lag[lag_of(group, topic)].value == 3
    # Only the group's source topic: a dead-letter topic is not consumed, so it has no lag.
    assert set(lag) == {lag_of(group, topic)}
    assert points(reader, DLQ)[on_topic(f"{topic}.dlq")].value == 0

    again = consumer(pool, schema, infra, group, [topic], handler)
    task = asyncio.create_task(again.run())
    try:
        await wait_for(lambda: asyncio.sleep(0, again.processed >= 3), timeout=30)
        await sampled(infra, prefix, lambda s: s.consumer_lag.get((group, topic)) == 0)
    finally:
        await stop(task)
    assert points(reader, LAG)[lag_of(group, topic)].value == 0


async def test_dead_letter_depth_counts_poisoned_records_per_topic(
        pool, schema, store, infra, prefix, reader):
    a, b = f"{prefix}a.events", f"{prefix}b.events"
    await ensure_topics(infra.kafka_bootstrap, [a, b, f"{a}.dlq", f"{b}.dlq"], partitions=1)
    await effects_table(pool, schema)
    events = [e for i in range(4) for e in await store.append(
        f"s{i}", 0, [NewEvent("src.thing.happened", {"n": i})])]

    async def handler(conn, event):
        if event.data["n"] in (1, 3):
            raise RuntimeError(f"poison: n={event.data['n']}")

    group = f"{prefix}sink.projection"
    c = consumer(pool, schema, infra, group, [a, b], handler)
    task = asyncio.create_task(c.run())
    try:
        await publish(infra, a, store, events[:2])  # one poisoned on a
        await publish(infra, b, store, events[2:], extra=[b"{not json"])  # two on b
        await wait_for(lambda: asyncio.sleep(0, c.processed >= 2 and c.dead_lettered >= 3),
                       timeout=30)
        await sampled(infra, prefix, lambda s: s.dlq_depth.get(f"{a}.dlq") == 1
                      and s.dlq_depth.get(f"{b}.dlq") == 2
                      and s.consumer_lag.get((group, a)) == 0
                      and s.consumer_lag.get((group, b)) == 0)
    finally:
        await stop(task)
    depth = points(reader, DLQ)
    assert {k: p.value for k, p in depth.items()} == {on_topic(f"{a}.dlq"): 1,
                                                      on_topic(f"{b}.dlq"): 2}
    # Dead-lettered records count as consumed: the group is not behind on its sources.
    assert {k: p.value for k, p in points(reader, LAG).items()} == {lag_of(group, a): 0,
                                                                   lag_of(group, b): 0}


def reports_router() -> APIRouter:
    router = APIRouter()

    @router.get("/api/v1/svc/reports/{report_id}")
    async def report(report_id: str) -> dict:
        if report_id == "boom":
            raise RuntimeError("报表生成失败")
        if report_id.startswith("missing"):
            raise NotFound("报表", report_id)
        return {"id": report_id}
    return router


async def test_requests_are_counted_timed_and_failed_per_route_template(
        schema, infra, prefix, reader):
    service = schema  # this test's series only (other apps in the process record too)
    settings = ServiceSettings(GX_SERVICE_NAME=service, GX_DB_SCHEMA=schema,
                               GX_TOPIC_PREFIX=prefix, DATABASE_URL=infra.database_url,
                               KAFKA_BOOTSTRAP_SERVERS=infra.kafka_bootstrap,
                               GX_RELAY_ENABLED=False)
    app = create_service_app(settings, title="svc", routers=[reports_router()])
    async with serving(app) as url, httpx.AsyncClient(base_url=url) as client:
        for n in range(3):
            assert (await client.get(f"/api/v1/svc/reports/{n}")).status_code == 200
        for n in range(2):
            assert (await client.get(f"/api/v1/svc/reports/missing-{n}")).status_code == 404
        assert (await client.get("/api/v1/svc/reports/boom")).status_code == 500
        assert (await client.get("/api/v1/svc/nothing/here/123")).status_code == 404

    def series(name: str) -> dict[tuple[str, int], Any]:
        found = {}
        for attrs, p in points(reader, name).items():
            a = dict(attrs)
            if a["gx.service"] == service and a["http.route"] != "/ready":
                assert a["http.request.method"] == "GET"
                found[a["http.route"], a["http.response.status_code"]] = p
        return found

    template = "/api/v1/svc/reports/{report_id}"
    durations = series(DURATION)
    # By template, never the raw path: six requests on three ids fall into three series.
    assert {k: p.count for k, p in durations.items()} == {
        (template, 200): 3, (template, 404): 2, (template, 500): 1, ("unmatched", 404): 1}
    for p in durations.values():
        assert p.sum > 0 and sum(p.bucket_counts) == p.count
        assert list(p.explicit_bounds) == list(metrics.BOUNDS_S)
    assert {k: p.value for k, p in series(ERRORS).items()} == {(template, 500): 1}
    # The same figures in process, for the ops page without a collector.
    [snap] = [r for r in metrics.request_snapshot(service) if r["route"] == template]
    assert (snap["count"], snap["errors"], snap["refused"]) == (6, 1, 2)


async def test_a_group_stuck_before_its_first_commit_shows_its_lag(
        pool, schema, store, infra, prefix, reader):
    """A new group whose first record hangs (a lock it waits on is held) commits nothing: its
    records wait all the same, and that is when ops need the gauge. Tansu does not even list
    such a group (Kafka lists it without offsets): the deployment declares its groups."""
    topic, group = f"{prefix}src.events", f"{prefix}sink.projection"
    await ensure_topics(infra.kafka_bootstrap, [topic, f"{topic}.dlq"], partitions=1)
    events = [e for i in range(3) for e in await store.append(
        f"s{i}", 0, [NewEvent("src.thing.happened", {"n": i})])]
    entered, held = asyncio.Event(), asyncio.Event()

    async def handler(conn, event):
        entered.set()
        await held.wait()  # never released while the test looks

    c = consumer(pool, schema, infra, group, [topic], handler)
    task = asyncio.create_task(c.run())
    try:
        await publish(infra, topic, store, events)
        await asyncio.wait_for(entered.wait(), timeout=30)
        sample = await sampled(infra, prefix, lambda s: s.topic_end.get(topic) == 3,
                               groups={group: [topic]})
    finally:
        await stop(task)
    assert c.processed == 0
    assert sample.consumer_lag.get((group, topic)) == 3, sample
    assert points(reader, LAG)[lag_of(group, topic)].value == 3

