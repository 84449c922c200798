"""The consumer on FastStream: manual acknowledgement, nothing passed over when even the
dead-lettering fails (FastStream #2618), order per partition, the broker's security options."""
import asyncio
import random
import time

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaConnectionError
from faststream.middlewares import AckPolicy
from faststream.security import BaseSecurity, SASLScram512

from gx_kernel.consumer import IdempotentConsumer, make_broker
from gx_kernel.eventstore import NewEvent
from gx_kernel.kafka import KafkaSecurity, ensure_topics, make_producer

from .test_consumer_contract import count_effects, effects_table, publish, run_until


@pytest.mark.unit
def test_the_subscriber_acknowledges_by_hand_from_the_earliest_offset():
    consumer = IdempotentConsumer(pool=None, schema="s", group_id="g", topics=["a.events"],
                                  handler=None, bootstrap="127.0.0.1:9", producer_factory=None,
                                  fetch_max_wait_ms=30)
    broker = make_broker("127.0.0.1:9")
    consumer.subscribe(broker)
    [sub] = broker.subscribers
    assert sub.ack_policy is AckPolicy.MANUAL
    args = sub._connection_args
    assert args["enable_auto_commit"] is False and args["auto_offset_reset"] == "earliest"
    assert args["fetch_max_wait_ms"] == 30 and sub.group_id == "g"


@pytest.mark.unit
async def test_an_empty_poll_is_not_followed_by_a_sleep():
    """FastStream's batch subscriber sleeps a poll's length after an empty poll; ours does not
    (a record arriving meanwhile would wait it out)."""
    consumer = IdempotentConsumer(pool=None, schema="s", group_id="g", topics=["a.events"],
                                  handler=None, bootstrap="127.0.0.1:9", producer_factory=None)
    broker = make_broker("127.0.0.1:9")
    consumer.subscribe(broker)
    [sub] = broker.subscribers
    polls = []

    class Polled:
        async def getmany(self, timeout_ms, max_records):
            polls.append((timeout_ms, max_records))
            return {}

    started = time.perf_counter()
    assert await sub.get_msg(Polled()) == ()
    assert time.perf_counter() - started < 0.05 and polls == [(200, 200)]


@pytest.mark.unit
def test_the_broker_connects_as_the_other_clients_do(monkeypatch):
    assert KafkaSecurity().faststream_security() is None  # PLAINTEXT
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("KAFKA_SASL_USERNAME", "agri")
    monkeypatch.setenv("KAFKA_SASL_PASSWORD", "pw")
    sec = KafkaSecurity().faststream_security()
    assert isinstance(sec, SASLScram512) and sec.use_ssl and sec.username == "agri"
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "SSL")
    sec = KafkaSecurity().faststream_security()
    assert type(sec) is BaseSecurity and sec.use_ssl and sec.ssl_context is not None
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("KAFKA_SASL_MECHANISM", "GSSAPI")
    with pytest.raises(ValueError, match="KAFKA_SASL_MECHANISM"):
        KafkaSecurity().faststream_security()


class FlakyProducer:
    """A producer whose broker is away for the first `down` starts."""

    calls = 0

    def __init__(self, bootstrap: str, down: int):
        self.bootstrap, self.down = bootstrap, down

    async def start(self):
        FlakyProducer.calls += 1
        if FlakyProducer.calls <= self.down:
            raise KafkaConnectionError("broker away")
        self.real = make_producer(self.bootstrap, False)
        await self.real.start()

    async def send_and_wait(self, *args, **kwargs):
        return await self.real.send_and_wait(*args, **kwargs)

    async def stop(self):
        await self.real.stop()


async def committed(bootstrap: str, group: str, topic: str) -> dict[int, int | None]:
    probe = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group,
                             enable_auto_commit=False)
    await probe.start()
    try:
        return {p: await probe.committed(TopicPartition(topic, p)) for p in range(3)}
    finally:
        await probe.stop()


async def test_a_record_not_even_dead_lettered_is_read_again_never_passed_over(
        pool, schema, store, infra, prefix):
    topic = f"{prefix}src.events"
    await ensure_topics(infra.kafka_bootstrap, [topic, f"{topic}.dlq"])
    await effects_table(pool, schema)
    stored = await store.append("one-stream", 0, [NewEvent("src.thing.happened", {"n": n})
                                                  for n in range(3)])  # one partition
    tries = {"n": 0}

    async def handler(conn, event):
        if event.data["n"] == 1:
            tries["n"] += 1
            raise RuntimeError("cannot apply n=1")
        await conn.execute(f"INSERT INTO {schema}.effects VALUES ($1, $2)", event.id,
                           event.data["n"])

    FlakyProducer.calls = 0
    await publish(infra, topic, store, stored)
    consumer = IdempotentConsumer(
        pool=pool, schema=schema, group_id=f"{topic}-g", topics=[topic], handler=handler,
        bootstrap=infra.kafka_bootstrap, max_attempts=2, retry_backoff=0.01, max_backoff=0.1,
        producer_factory=lambda: FlakyProducer(infra.kafka_bootstrap, down=3))

    async def settled():
        return consumer.dead_lettered >= 1 and consumer.processed >= 2

    await run_until(consumer, settled)
    # First pass: the DLQ could not be reached (2 tries): n=1 was sought back, not skipped,
    # and n=2 waited behind it. Second pass: dead-lettered on its 2nd send, then n=2.
    assert tries["n"] == 2 and FlakyProducer.calls == 4
    async with pool.acquire() as conn:
        rows = await conn.fetch(f"SELECT event_id, outcome FROM {schema}.consumed_events "
                                f"ORDER BY processed_at")
    assert [(r["event_id"], r["outcome"]) for r in rows] == [
        (stored[0].id, "processed"), (stored[1].id, "dead_lettered"),
        (stored[2].id, "processed")]
    assert await count_effects(pool, schema) == 2
    offsets = await committed(infra.kafka_bootstrap, f"{topic}-g", topic)
    assert sorted(o for o in offsets.values() if o) == [3]  # all three, nothing beyond


async def test_each_stream_is_handled_in_order_while_partitions_run_side_by_side(
        pool, schema, store, infra, prefix):
    topic = f"{prefix}src.events"
    await ensure_topics(infra.kafka_bootstrap, [topic, f"{topic}.dlq"])
    streams = [f"s{i}" for i in range(6)]
    stored = []
    for version in range(15):  # interleaved, as writers of many streams produce them
        for s in streams:
            stored += await store.append(s, version, [NewEvent("src.thing.happened", {})])
    seen: list[tuple[str, int]] = []
    active = {"now": 0, "max": 0}

    async def handler(conn, event):
        active["now"] += 1
        active["max"] = max(active["max"], active["now"])
        await asyncio.sleep(random.uniform(0, 0.004))
        seen.append((event.stream_id, event.version))
        active["now"] -= 1

    await publish(infra, topic, store, stored)
    consumer = IdempotentConsumer(
        pool=pool, schema=schema, group_id=f"{topic}-g", topics=[topic], handler=handler,
        bootstrap=infra.kafka_bootstrap,
        producer_factory=lambda: make_producer(infra.kafka_bootstrap, False))

    async def settled():
        return consumer.processed >= len(stored)

    await run_until(consumer, settled, timeout=40)
    for s in streams:
        assert [v for sid, v in seen if sid == s] == list(range(1, 16))
    assert active["max"] > 1  # several partitions at once


@pytest.mark.unit
async def test_a_revoked_partition_moves_only_after_the_batch_in_hand_is_acknowledged():
    from gx_kernel.consumer import _Assignment

    busy, assigned = asyncio.Lock(), asyncio.Event()
    listener = _Assignment(assigned, busy)
    await listener.on_partitions_assigned({TopicPartition("t", 0)})
    assert assigned.is_set()
    order = []
    async with busy:
        revoking = asyncio.create_task(listener.on_partitions_revoked({TopicPartition("t", 0)}))
        await asyncio.sleep(0.05)
        assert not revoking.done()  # waits for the batch
        order.append("acked")
    await revoking
    assert order == ["acked"]


async def test_an_event_tracked_meanwhile_by_another_member_is_not_dead_lettered(
        pool, schema, store, infra, prefix):
    """The partition moved while the batch was in hand: the other member tracked the event
    first; ours finds its tracking row, runs no effects and counts it as handled."""
    from .kafka_util import read_topic

    topic = f"{prefix}src.events"
    await ensure_topics(infra.kafka_bootstrap, [topic, f"{topic}.dlq"])
    await effects_table(pool, schema)
    stored = await store.append("s", 0, [NewEvent("src.thing.happened", {"n": 1})])
    await publish(infra, topic, store, stored)
    [record] = await read_topic(infra.kafka_bootstrap, topic)
    consumer = IdempotentConsumer(
        pool=pool, schema=schema, group_id="g", topics=[topic], handler=None,
        bootstrap=infra.kafka_bootstrap,
        producer_factory=lambda: make_producer(infra.kafka_bootstrap, False))
    await consumer.setup()

    async def handler(conn, event):
        await conn.execute(f"INSERT INTO {schema}.effects VALUES ($1, 1)", event.id)

    consumer.handler = handler
    other_in, other_done = asyncio.Event(), asyncio.Event()

    async def other_member():  # holds the event's tracking row, uncommitted, for a while
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute(
                f"INSERT INTO {schema}.consumed_events (consumer, event_id, topic, partition, "
                f"kafka_offset, outcome) VALUES ('g', $1, $2, 0, 0, 'processed')",
                stored[0].id, topic)
            other_in.set()
            await asyncio.sleep(0.3)
            other_done.set()  # just before its commit: process() cannot have returned yet

    other = asyncio.create_task(other_member())
    await other_in.wait()
    await consumer.process(record)  # waits for the other member's commit, then skips
    assert other_done.is_set()  # checked before awaiting `other`: process() waited for it
    await other
    assert consumer.dead_lettered == 0 and await count_effects(pool, schema) == 0
