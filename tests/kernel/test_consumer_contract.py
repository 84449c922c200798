"""Consumer semantics against the real broker and database: no double effects, DLQ."""
import asyncio
import json

from aiokafka import AIOKafkaProducer

from gx_kernel.consumer import IdempotentConsumer
from gx_kernel.eventstore import NewEvent
from gx_kernel.kafka import encode, ensure_topics, make_producer

from .kafka_util import read_topic


async def effects_table(pool, schema):
    async with pool.acquire() as conn:
        await conn.execute(f"CREATE TABLE {schema}.effects (event_id uuid, n int)")


async def count_effects(pool, schema) -> int:
    async with pool.acquire() as conn:
        return await conn.fetchval(f"SELECT count(*) FROM {schema}.effects")


def consumer_for(pool, schema, infra, topic, handler, attempts=3):
    return IdempotentConsumer(
        pool=pool, schema=schema, group_id=f"{topic}-g", topics=[topic], handler=handler,
        bootstrap=infra.kafka_bootstrap,
        producer_factory=lambda: make_producer(infra.kafka_bootstrap, False),
        max_attempts=attempts, retry_backoff=0.01)


async def publish(infra, topic, store, events, times=1, extra=()):
    producer = AIOKafkaProducer(bootstrap_servers=infra.kafka_bootstrap, acks="all")
    await producer.start()
    try:
        for _ in range(times):
            for e in events:
                key, value, headers = encode(e, "/gxstat/test")
                await producer.send_and_wait(topic, value=value, key=key, headers=headers)
        for raw in extra:
            await producer.send_and_wait(topic, value=raw, key=b"bad")
    finally:
        await producer.stop()


async def run_until(consumer, predicate, timeout=20.0):
    task = asyncio.create_task(consumer.run())
    try:
        for _ in range(int(timeout / 0.05)):
            if await predicate():
                return
            await asyncio.sleep(0.05)
        raise AssertionError("condition not reached")
    finally:
        task.cancel()


async def test_redelivered_event_has_no_second_effect(pool, schema, store, infra, prefix):
    topic = f"{prefix}src.events"
    await ensure_topics(infra.kafka_bootstrap, [topic, f"{topic}.dlq"])
    await effects_table(pool, schema)
    stored = [e for i in range(3) for e in await store.append(
        f"s{i}", 0, [NewEvent("src.thing.happened", {"n": i})])]

    async def handler(conn, event):
        await conn.execute(f"INSERT INTO {schema}.effects VALUES ($1, $2)", event.id,
                           event.data["n"])

    await publish(infra, topic, store, stored, times=2)  # the relay may send twice
    consumer = consumer_for(pool, schema, infra, topic, handler)

    async def all_seen():
        return consumer.processed >= 3 and await count_effects(pool, schema) >= 3

    await run_until(consumer, all_seen)
    await asyncio.sleep(0.3)  # let the duplicates arrive too
    assert await count_effects(pool, schema) == 3
    # A consumer restarted before committing re-reads the same records: still no effect.
    records = await read_topic(infra.kafka_bootstrap, topic, expect=6)
    for r in records:
        await consumer.process(r)
    assert await count_effects(pool, schema) == 3


async def test_failing_event_goes_to_dlq_after_retries_and_others_proceed(
        pool, schema, store, infra, prefix):
    topic = f"{prefix}src.events"
    await ensure_topics(infra.kafka_bootstrap, [topic, f"{topic}.dlq"])
    await effects_table(pool, schema)
    stored = [e for i in range(3) for e in await store.append(
        f"s{i}", 0, [NewEvent("src.thing.happened", {"n": i})])]
    attempts = {"n": 0}

    async def handler(conn, event):
        await conn.execute(f"INSERT INTO {schema}.effects VALUES ($1, $2)", event.id,
                           event.data["n"])
        if event.data["n"] == 1:
            attempts["n"] += 1
            raise RuntimeError("cannot apply n=1")

    await publish(infra, topic, store, stored, extra=[b"{not json"])
    consumer = consumer_for(pool, schema, infra, topic, handler, attempts=3)

    async def settled():
        return consumer.dead_lettered >= 2 and consumer.processed >= 2

    await run_until(consumer, settled)
    assert attempts["n"] == 3
    assert await count_effects(pool, schema) == 2  # the failing one left nothing half-written
    dlq = await read_topic(infra.kafka_bootstrap, f"{topic}.dlq", expect=2)
    errors = [dict(r.headers).get("x-gx-error", b"").decode() for r in dlq]
    assert any("cannot apply n=1" in e for e in errors)
    assert any("malformed" in e for e in errors)
    failed = [r for r in dlq if r.key == b"s1"]
    assert json.loads(failed[0].value)["data"] == {"n": 1}
    assert dict(failed[0].headers)["x-gx-original-topic"] == topic.encode()
    async with pool.acquire() as conn:
        outcome = await conn.fetchval(
            f"SELECT outcome FROM {schema}.consumed_events WHERE event_id = $1", stored[1].id)
    assert outcome == "dead_lettered"


async def test_unwanted_event_types_cost_no_transaction(pool, schema, store, infra, prefix):
    topic = f"{prefix}src.events"
    await ensure_topics(infra.kafka_bootstrap, [topic, f"{topic}.dlq"])
    await effects_table(pool, schema)
    stored = [e for i in range(4) for e in await store.append(
        f"s{i}", 0, [NewEvent("src.thing.happened" if i % 2 else "src.thing.noted", {"n": i})])]

    async def handler(conn, event):
        await conn.execute(f"INSERT INTO {schema}.effects VALUES ($1, $2)", event.id,
                           event.data["n"])

    await publish(infra, topic, store, stored)
    consumer = consumer_for(pool, schema, infra, topic, handler)
    consumer.wants = lambda event_type: event_type == "src.thing.happened"

    async def settled():
        return consumer.processed + consumer.skipped >= 4

    await run_until(consumer, settled)
    async with pool.acquire() as conn:
        tracked = await conn.fetchval(f"SELECT count(*) FROM {schema}.consumed_events")
    assert consumer.skipped == 2 and tracked == 2
    assert await count_effects(pool, schema) == 2
