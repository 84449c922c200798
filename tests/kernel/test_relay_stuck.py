"""A relay that cannot publish an event raises an alarm, keeps order, and an operator resolves it.

Tansu 0.6 stores a topic's `max.message.bytes` (create and describe show it) but does not
enforce it: a 50 kB record goes through a topic limited to 2 kB. So the per-record size failure
is reproduced with the producer's `max_request_size` (GX_KAFKA_MAX_REQUEST_BYTES), which
refuses the record just as a broker's MESSAGE_TOO_LARGE would; "raising the topic's limit"
is raising that setting.
"""
import asyncio
import json
import sys
import uuid

import httpx
import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from gx_kernel import metrics
from gx_kernel.eventstore import NewEvent
from gx_kernel.kafka import ensure_topics, make_producer
from gx_kernel.relay import OutboxRelay
from gx_kernel.service import create_service_app
from gx_kernel.settings import ServiceSettings

from ..harness import serving, wait_for
from .kafka_util import body, read_topic

SMALL_LIMIT = 4096


@pytest.fixture
async def stuck(infra, schema, prefix):
    """A service whose relay is stuck on a.v2 (bigger than the producer takes); a.v1 is out."""
    settings = ServiceSettings(GX_SERVICE_NAME="svc", GX_DB_SCHEMA=schema, GX_TOPIC_PREFIX=prefix,
                               DATABASE_URL=infra.database_url, GX_RELAY_MAX_ATTEMPTS=3,
                               KAFKA_BOOTSTRAP_SERVERS=infra.kafka_bootstrap,
                               GX_KAFKA_MAX_REQUEST_BYTES=SMALL_LIMIT)
    app = create_service_app(settings, title="svc")
    async with serving(app) as url, httpx.AsyncClient(base_url=url) as client:
        store = app.state.runtime.store
        appended = []
        for stream, data in [("a", {"i": 1}), ("a", {"notes": "说明" * 3000}), ("b", {"i": 1}),
                             ("a", {"i": 3}), ("b", {"i": 2})]:
            appended += await store.append(stream, None, [NewEvent("svc.thing.happened", data)])
        store.notify_committed()

        async def degraded():
            r = await client.get("/ready")
            return r if r.json()["status"] == "degraded" else None
        ready = await wait_for(degraded, timeout=30)
        yield {"client": client, "settings": settings, "events": appended, "ready": ready,
               "app": app}


async def admin(infra, schema, *args) -> tuple[int, dict]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gx_kernel.relay_admin", "--database-url", infra.database_url,
        "--schema", schema, *args, stdout=asyncio.subprocess.PIPE)
    out, _ = await proc.communicate()
    return proc.returncode, json.loads(out)


async def topic_records(infra, settings, expect: int, linger: bool = False) -> list[dict]:
    """At least `expect` records; `linger`: keep reading a while for any beyond those."""
    records = await read_topic(infra.kafka_bootstrap, settings.events_topic, expect=expect,
                               timeout_s=3 if linger else 30,
                               until=(lambda rs: len(rs) > expect) if linger else None)
    return [{**body(r), "ce_id": dict(r.headers)["ce_id"].decode()} for r in records]


def first_seen_versions(bodies: list[dict], stream: str) -> list[int]:
    out: list[int] = []
    for b in bodies:
        if b["stream_id"] == stream and b["version"] not in out:
            out.append(b["version"])
    return out


async def test_alarm_is_visible_and_nothing_passes_the_stuck_event(stuck, infra, schema):
    big = stuck["events"][1]
    r = stuck["ready"]
    assert r.status_code == 200  # degraded, not down: commands are still stored safely
    assert r.json()["checks"]["relay"] is False
    alarm = r.json()["details"]["relay"]["stuck"]
    assert (alarm["event_id"], alarm["stream_id"], alarm["version"]) == (str(big.id), "a", 2)
    assert alarm["position"] == big.position and alarm["attempts"] >= 3
    assert "MessageSizeTooLargeError" in alarm["error"]
    assert r.json()["details"]["relay"]["lag"] == 4  # a.v2 and the three behind it

    code, status = await admin(infra, schema, "status")
    assert code == 0 and status["stuck"]["event_id"] == str(big.id) and status["lag"] == 4

    provider = MeterProvider(metric_readers=[reader := InMemoryMetricReader()])
    metrics.instrument(provider.get_meter("test"))
    seen = {m.name: [p for p in m.data.data_points if p.attributes.get("gx.service") == schema]
            for rm in reader.get_metrics_data().resource_metrics for sm in rm.scope_metrics
            for m in sm.metrics}
    assert [p.value for p in seen["gx.relay.stuck"]] == [1]
    assert [p.value for p in seen["gx.relay.lag"]] == [4]

    # Per-stream order holds: nothing behind the stuck event was published, in any stream.
    on_topic = await topic_records(infra, stuck["settings"], expect=1, linger=True)
    assert [(b["stream_id"], b["version"]) for b in on_topic] == [("a", 1)]
    assert (await admin(infra, schema, "retry", str(uuid.uuid4())))[0] == 1  # not the stuck one


async def test_retry_after_raising_the_limit_publishes_everything_in_order(stuck, infra, schema):
    big = stuck["events"][1]
    stuck["settings"].kafka_max_request_bytes = 1_048_576  # the operator raises the limit
    code, out = await admin(infra, schema, "retry", str(big.id))
    assert code == 0 and out["ok"]

    async def ready():
        r = await stuck["client"].get("/ready")
        return r if r.json()["status"] == "ready" else None
    r = await wait_for(ready, timeout=30)
    assert "relay" not in r.json()["checks"] and r.json()["details"]["relay"]["stuck"] is None
    on_topic = await topic_records(infra, stuck["settings"], expect=5)
    assert {b["ce_id"] for b in on_topic} == {str(e.id) for e in stuck["events"]}
    assert first_seen_versions(on_topic, "a") == [1, 2, 3]
    assert first_seen_versions(on_topic, "b") == [1, 2]
    assert next(b for b in on_topic if b["id"] == str(big.id))["data"] == big.data
    assert (await admin(infra, schema, "status"))[1]["lag"] == 0


async def test_park_publishes_a_stub_and_keeps_versions_gapless(stuck, infra, schema):
    big = stuck["events"][1]
    code, out = await admin(infra, schema, "park", str(big.id), "--reason", "超过主题上限")
    assert code == 0 and out["ok"]

    async def ready():
        r = await stuck["client"].get("/ready")
        return r if r.json()["status"] == "ready" else None
    await wait_for(ready, timeout=30)
    on_topic = await topic_records(infra, stuck["settings"], expect=5)
    assert {b["ce_id"] for b in on_topic} == {str(e.id) for e in stuck["events"]}
    assert first_seen_versions(on_topic, "a") == [1, 2, 3]
    assert first_seen_versions(on_topic, "b") == [1, 2]
    stub = next(b for b in on_topic if b["id"] == str(big.id))
    assert (stub["type"], stub["stream_id"], stub["version"]) == (big.type, "a", 2)
    assert stub["data"] == {}
    assert stub["metadata"]["withheld"] is True
    assert stub["metadata"]["withheld_reason"] == "超过主题上限"
    assert stub["metadata"]["correlation_id"] == big.metadata["correlation_id"]
    # The full event stays in the store; the park is on record.
    store = stuck["app"].state.runtime.store
    assert (await store.read_stream("a"))[1].data == big.data
    code, status = await admin(infra, schema, "status")
    assert [p["event_id"] for p in status["parked"]] == [str(big.id)]
    assert status["parked"][0]["reason"] == "超过主题上限" and status["stuck"] is None
    assert (await admin(infra, schema, "park", str(big.id)))[0] == 1  # no longer stuck


async def test_an_alarm_raised_before_a_restart_clears_once_the_event_is_out(store, infra,
                                                                             prefix):
    topic = f"{prefix}svc.events"
    await ensure_topics(infra.kafka_bootstrap, [topic])
    big = (await store.append("a", 0, [NewEvent("svc.thing.happened",
                                                {"notes": "说明" * 3000})]))[0]

    def relay(limit: int) -> OutboxRelay:
        return OutboxRelay(store, lambda: make_producer(infra.kafka_bootstrap, False,
                                                        max_request_size=limit),
                           topic, source="/gxstat/test", max_attempts=2, max_backoff=0.2)

    stuck_relay = relay(SMALL_LIMIT)
    await stuck_relay.setup()
    first = asyncio.create_task(stuck_relay.run())
    try:
        alarm = await wait_for(stuck_relay.tables.stuck, timeout=20)
    finally:
        first.cancel()
        await asyncio.gather(first, return_exceptions=True)
    assert alarm["event_id"] == str(big.id)
    again = relay(1_048_576)  # restarted with the limit raised
    second = asyncio.create_task(again.run())
    try:
        async def cleared():
            return again.published and await again.tables.stuck() is None
        await wait_for(cleared, timeout=20)
    finally:
        second.cancel()
        await asyncio.gather(second, return_exceptions=True)
    assert (await topic_records(infra, ServiceSettings(GX_TOPIC_PREFIX=prefix,
                                                       GX_SERVICE_NAME="svc"), 1))[0]["id"] \
        == str(big.id)
