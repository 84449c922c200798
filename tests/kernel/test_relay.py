"""Outbox relay against the real broker: order, headers, outage and resume."""
import asyncio

from gx_kernel.eventstore import NewEvent
from gx_kernel.kafka import ensure_topics, make_producer
from gx_kernel.relay import OutboxRelay
from gx_kernel.telemetry import span

from .kafka_util import body, read_topic
from .netfault import broker_behind_proxy


def relay_for(store, bootstrap: str, topic: str) -> OutboxRelay:
    return OutboxRelay(store, lambda: make_producer(bootstrap, False), topic, source="/gxstat/test")


async def test_publishes_in_order_with_cloudevents_headers(store, infra, prefix):
    topic = f"{prefix}svc.events"
    await ensure_topics(infra.kafka_bootstrap, [topic])
    with span("request"):
        for i in range(3):
            await store.append("stream-a", None, [NewEvent("svc.thing.happened", {"i": i})],
                               metadata={"actor": "u1"})
    await store.append("stream-b", None, [NewEvent("svc.thing.happened", {"i": 9})])
    relay = relay_for(store, infra.kafka_bootstrap, topic)
    task = asyncio.create_task(relay.run())
    try:
        records = await read_topic(infra.kafka_bootstrap, topic, expect=4)
    finally:
        task.cancel()
    a = [r for r in records if r.key == b"stream-a"]
    assert [body(r)["version"] for r in a] == [1, 2, 3]
    assert len({r.partition for r in a}) == 1  # key = stream id keeps one partition
    headers = dict(a[0].headers)
    assert headers["ce_specversion"] == b"1.0"
    assert headers["ce_type"] == b"svc.thing.happened"
    assert headers["ce_id"].decode() == body(a[0])["id"]
    assert headers["ce_subject"] == b"stream-a"
    assert headers["ce_source"] == b"/gxstat/test" and headers["ce_time"]
    assert headers["traceparent"].startswith(b"00-")
    assert body(a[0])["metadata"]["actor"] == "u1"
    assert (await relay.checkpoint()) == (await store.read_all())[-1].checkpoint


async def test_survives_broker_outage_and_loses_nothing(store, prefix):
    topic = f"{prefix}svc.events"
    async with broker_behind_proxy() as (bootstrap, proxy):
        await ensure_topics(bootstrap, [topic])
        relay = relay_for(store, bootstrap, topic)
        relay.max_backoff = 0.5
        task = asyncio.create_task(relay.run())
        try:
            for i in range(5):
                await store.append(f"s{i % 2}", None, [NewEvent("svc.thing.happened", {"i": i})])
            for _ in range(100):
                if relay.published >= 5:
                    break
                await asyncio.sleep(0.05)
            await proxy.cut()
            for i in range(5, 15):  # written while the broker is unreachable
                await store.append(f"s{i % 2}", None, [NewEvent("svc.thing.happened", {"i": i})])
            await asyncio.sleep(1.5)
            await proxy.start()
            records = await read_topic(bootstrap, topic, expect=15, timeout_s=40)
        finally:
            task.cancel()
    seen = [body(r) for r in records]
    assert {b["data"]["i"] for b in seen} == set(range(15))  # nothing lost (duplicates allowed)
    for stream in ("s0", "s1"):
        first_seen: list[int] = []
        for b in seen:
            if b["stream_id"] == stream and b["version"] not in first_seen:
                first_seen.append(b["version"])
        assert first_seen == sorted(first_seen)  # one stream's events never overtake
