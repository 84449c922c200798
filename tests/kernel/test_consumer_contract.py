"""Consumer semantics against the real broker and database: no double effects, errors by
kind (transient retried, the rest dead-lettered at once), DLQ; the classifier alone."""
import asyncio
import json

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaConnectionError, MessageSizeTooLargeError
from pydantic import BaseModel, ValidationError

from gx_kernel.consumer import IdempotentConsumer
from gx_kernel.errors import AppError
from gx_kernel.eventstore import ConcurrencyError, NewEvent
from gx_kernel.kafka import encode, ensure_topics, make_producer
from gx_kernel.transient import TransientError, is_transient
from gx_kernel.uow import UnitOfWork

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


async def prepared(pool, schema, store, infra, prefix, count,
                   kind=lambda i: "src.thing.happened"):
    """A topic with its DLQ, an effects table, and `count` source events stored (not sent)."""
    topic = f"{prefix}src.events"
    await ensure_topics(infra.kafka_bootstrap, [topic, f"{topic}.dlq"])
    await effects_table(pool, schema)
    stored = [e for i in range(count) for e in await store.append(
        f"s{i}", 0, [NewEvent(kind(i), {"n": i})])]
    return topic, stored


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
    topic, stored = await prepared(pool, schema, store, infra, prefix, 3)

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


async def dlq_headers(infra, topic, expect):
    dlq = await read_topic(infra.kafka_bootstrap, f"{topic}.dlq", expect=expect)
    return dlq, [{k: v.decode() for k, v in r.headers} for r in dlq]


async def test_permanent_failure_goes_to_dlq_at_once_and_others_proceed(
        pool, schema, store, infra, prefix):
    topic, stored = await prepared(pool, schema, store, infra, prefix, 3)
    attempts = {"n": 0}

    async def handler(conn, event):
        await conn.execute(f"INSERT INTO {schema}.effects VALUES ($1, $2)", event.id,
                           event.data["n"])
        if event.data["n"] == 1:
            attempts["n"] += 1
            raise RuntimeError("cannot apply n=1")  # a bug or a rule: no retry can help

    await publish(infra, topic, store, stored, extra=[b"{not json"])
    consumer = consumer_for(pool, schema, infra, topic, handler, attempts=3)

    async def settled():
        return consumer.dead_lettered >= 2 and consumer.processed >= 2

    await run_until(consumer, settled)
    assert attempts["n"] == 1
    assert await count_effects(pool, schema) == 2  # the failing one left nothing half-written
    dlq, headers = await dlq_headers(infra, topic, expect=2)
    assert any("cannot apply n=1" in h["x-gx-error"] for h in headers)
    assert any("malformed" in h["x-gx-error"] for h in headers)
    failed = [r for r in dlq if r.key == b"s1"]
    assert json.loads(failed[0].value)["data"] == {"n": 1}
    failed_headers = {k: v.decode() for k, v in failed[0].headers}
    assert failed_headers["x-gx-original-topic"] == topic
    assert failed_headers["x-gx-error-kind"] == "permanent"
    assert failed_headers["x-gx-error-type"] == "builtins.RuntimeError"
    assert failed_headers["x-gx-attempts"] == "1"
    async with pool.acquire() as conn:
        outcome = await conn.fetchval(
            f"SELECT outcome FROM {schema}.consumed_events WHERE event_id = $1", stored[1].id)
    assert outcome == "dead_lettered"


async def test_transient_failures_are_retried_until_they_pass_or_tries_run_out(
        pool, schema, store, infra, prefix):
    topic, stored = await prepared(pool, schema, store, infra, prefix, 2)
    tries = {0: 0, 1: 0}

    async def handler(conn, event):
        n = event.data["n"]
        tries[n] += 1
        await conn.execute(f"INSERT INTO {schema}.effects VALUES ($1, $2)", event.id, n)
        if n == 0 and tries[0] < 3:  # passes on the third try
            raise asyncpg.exceptions.SerializationError("could not serialize access")
        if n == 1:  # never passes
            raise asyncpg.exceptions.DeadlockDetectedError("deadlock detected")

    await publish(infra, topic, store, stored)
    consumer = consumer_for(pool, schema, infra, topic, handler, attempts=4)

    async def settled():
        return consumer.processed >= 1 and consumer.dead_lettered >= 1

    await run_until(consumer, settled)
    assert tries == {0: 3, 1: 4}
    assert await count_effects(pool, schema) == 1  # failed tries rolled back
    dlq, headers = await dlq_headers(infra, topic, expect=1)
    assert dlq[0].key == b"s1"
    assert headers[0]["x-gx-error-kind"] == "transient"
    assert headers[0]["x-gx-attempts"] == "4"
    assert "deadlock detected" in headers[0]["x-gx-error"]


async def test_a_unit_of_work_in_the_handler_wakes_the_relay_after_the_commit(
        pool, schema, store, infra, prefix):
    topic = f"{prefix}src.events"
    await ensure_topics(infra.kafka_bootstrap, [topic, f"{topic}.dlq"])
    source = [e for e in await store.append("in-1", 0, [NewEvent("src.thing.happened",
                                                                 {"n": 5})])]
    woken = []
    wake = store.notify_committed

    def notify():
        woken.append(1)
        wake()
    store.notify_committed = notify

    async def handler(conn, event):
        async with UnitOfWork.for_connection(conn, store) as uow:
            uow.collect(f"out-{event.data['n']}", 0, [NewEvent("dst.thing.noted", {})])
        assert woken == []  # the consumer's transaction is still open

    await publish(infra, topic, store, source)
    consumer = consumer_for(pool, schema, infra, topic, handler)

    async def settled():
        return consumer.processed >= 1

    await run_until(consumer, settled)
    assert woken == [1]
    assert [e.type for e in await store.read_stream("out-5")] == ["dst.thing.noted"]


class Payload(BaseModel):
    n: int


def validation_error() -> ValidationError:
    try:
        Payload.model_validate({"n": "many"})
    except ValidationError as exc:
        return exc
    raise AssertionError


def chained_transient() -> Exception:
    try:
        try:
            raise ConnectionResetError("peer reset")
        except ConnectionResetError as cause:
            raise RuntimeError("could not load the stream") from cause
    except RuntimeError as exc:
        return exc


@pytest.mark.parametrize("exc, transient", [
    (asyncpg.exceptions.SerializationError("x"), True),
    (asyncpg.exceptions.DeadlockDetectedError("x"), True),
    (asyncpg.exceptions.TooManyConnectionsError("x"), True),
    (asyncpg.exceptions.ConnectionDoesNotExistError("x"), True),
    (asyncpg.exceptions.AdminShutdownError("x"), True),
    (ConnectionRefusedError(), True),
    (TimeoutError(), True),  # e.g. no pool connection in time
    (KafkaConnectionError(), True),
    (ConcurrencyError("s-1", 1, 2), True),  # another writer moved the stream: reload, retry
    (TransientError("upstream busy"), True),
    (chained_transient(), True),
    (asyncpg.exceptions.UniqueViolationError("x"), False),
    (asyncpg.exceptions.UndefinedColumnError("x"), False),
    (MessageSizeTooLargeError(), False),
    (AppError(422, "bad_value", "数值无效", field="n"), False),
    (validation_error(), False),
    (KeyError("to_level"), False),  # a malformed payload
    (ValueError("bad"), False),
])
def test_failures_are_sorted_by_kind(exc, transient):
    assert is_transient(exc) is transient


async def test_unwanted_event_types_cost_no_transaction(pool, schema, store, infra, prefix):
    topic, stored = await prepared(
        pool, schema, store, infra, prefix, 4,
        kind=lambda i: "src.thing.happened" if i % 2 else "src.thing.noted")

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
