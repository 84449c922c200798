"""Idempotent consumer: exactly-once effects on top of at-least-once delivery.

For each record, in one database transaction: skip if this consumer already tracked the event
id; otherwise run the handler's effects and insert the tracking row. Offsets are committed to
Kafka only after that transaction commits. A record whose handler keeps failing is retried
with backoff, then published to `<topic>.dlq` with the error, tracked as dead-lettered, and
passed: it never blocks the partition and is never skipped silently.
"""
from __future__ import annotations

import asyncio
import logging
import traceback
from typing import Awaitable, Callable

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError
from opentelemetry.trace import SpanKind

from gx_kernel import telemetry
from gx_kernel.kafka import InboundEvent, decode

log = logging.getLogger(__name__)
Handler = Callable[[asyncpg.Connection, InboundEvent], Awaitable[None]]
Wanted = Callable[[str], bool]  # by event type: does this consumer act on it at all?


def _ddl(schema: str) -> str:
    return (f"CREATE TABLE IF NOT EXISTS {schema}.consumed_events ("
            f"consumer text NOT NULL, event_id uuid NOT NULL, topic text NOT NULL, "
            f"partition integer NOT NULL, kafka_offset bigint NOT NULL, outcome text NOT NULL, "
            f"error text, processed_at timestamptz NOT NULL DEFAULT now(), "
            f"PRIMARY KEY (consumer, event_id))")


class IdempotentConsumer:
    def __init__(self, *, pool: asyncpg.Pool, schema: str, group_id: str, topics: list[str],
                 handler: Handler, bootstrap: str,
                 producer_factory: Callable[[], AIOKafkaProducer], max_attempts: int = 5,
                 retry_backoff: float = 0.2, fetch_max_wait_ms: int = 50,
                 wants: Wanted | None = None):
        self.pool, self.schema, self.group_id = pool, schema, group_id
        self.topics, self.handler, self.bootstrap = topics, handler, bootstrap
        self._producer_factory, self.max_attempts = producer_factory, max_attempts
        self.retry_backoff = retry_backoff
        # Tansu answers a fetch only when this wait runs out (Kafka answers as soon as data
        # arrives), so a short wait is what keeps end-to-end latency low on the dev broker.
        self.fetch_max_wait_ms = fetch_max_wait_ms
        # Events of other types are passed without opening a transaction: nothing to track.
        self.wants = wants or (lambda _type: True)
        self.skipped = 0
        self.processed = 0
        self.dead_lettered = 0
        self.assigned = asyncio.Event()  # set once partitions are assigned (tests wait on it)

    async def setup(self) -> None:
        async with self.pool.acquire() as conn:
            await conn.execute(_ddl(self.schema))

    async def run(self) -> None:
        await self.setup()
        consumer = AIOKafkaConsumer(
            *self.topics, bootstrap_servers=self.bootstrap, group_id=self.group_id,
            enable_auto_commit=False, auto_offset_reset="earliest",
            max_poll_interval_ms=300_000, session_timeout_ms=10_000,
            fetch_max_wait_ms=self.fetch_max_wait_ms)
        try:
            await consumer.start()
            while True:
                batches = await consumer.getmany(timeout_ms=200, max_records=200)
                if consumer.assignment():
                    self.assigned.set()
                # Partitions are independent: handle them side by side, each in order.
                await asyncio.gather(*[self._partition(consumer, tp, records)
                                       for tp, records in batches.items()])
        finally:
            await consumer.stop()

    async def _partition(self, consumer: AIOKafkaConsumer, tp: TopicPartition, records) -> None:
        for record in records:
            await self.process(record)
        await self._commit(consumer, tp, records[-1].offset + 1)

    async def _commit(self, consumer: AIOKafkaConsumer, tp: TopicPartition, offset: int) -> None:
        try:
            await consumer.commit({tp: offset})
        except (CommitFailedError, IllegalStateError) as exc:
            # Partition moved to another member mid-batch; it re-reads from the last
            # committed offset and the tracking rows make that harmless.
            log.info("consumer %s: commit skipped after rebalance: %r", self.group_id, exc)

    async def process(self, record) -> None:
        """Handle one record with retries; dead-letter it when retries are exhausted."""
        try:
            event = decode(record)
        except ValueError as exc:
            await self._dead_letter(record, None, exc, attempts=0)
            return
        if not self.wants(event.type):
            self.skipped += 1
            return
        parent = telemetry.extract_context(event.headers)
        with telemetry.span(f"{record.topic} process", kind=SpanKind.CONSUMER, parent=parent,
                            **{"messaging.system": "kafka", "messaging.consumer.group.name":
                               self.group_id, "messaging.message.id": str(event.id),
                               "gx.event_type": event.type}) as span:
            for attempt in range(1, self.max_attempts + 1):
                try:
                    await self._apply(event)
                    return
                except Exception as exc:  # noqa: BLE001 - any handler failure is retried
                    log.warning("consumer %s: %s failed (attempt %d/%d): %r", self.group_id,
                                event.type, attempt, self.max_attempts, exc)
                    if attempt == self.max_attempts:
                        telemetry.mark_error(span, exc)
                        await self._dead_letter(record, event, exc, attempt)
                        return
                    await asyncio.sleep(self.retry_backoff * attempt)

    async def _apply(self, event: InboundEvent) -> None:
        async with self.pool.acquire() as conn:
            async with conn.transaction():
                if await self._seen(conn, event):
                    return
                with telemetry.span("db.transaction", **{"db.system": "postgresql"}):
                    await self.handler(conn, event)
                    await self._track(conn, event, "processed", None)
        self.processed += 1

    async def _seen(self, conn: asyncpg.Connection, event: InboundEvent) -> bool:
        return bool(await conn.fetchval(
            f"SELECT 1 FROM {self.schema}.consumed_events WHERE consumer = $1 AND event_id = $2",
            self.group_id, event.id))

    async def _track(self, conn, event: InboundEvent, outcome: str, error: str | None) -> None:
        await conn.execute(
            f"INSERT INTO {self.schema}.consumed_events (consumer, event_id, topic, partition, "
            f"kafka_offset, outcome, error) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            self.group_id, event.id, event.topic, event.partition, event.offset, outcome, error)

    async def _dead_letter(self, record, event: InboundEvent | None, exc: Exception,
                           attempts: int) -> None:
        error = "".join(traceback.format_exception_only(type(exc), exc)).strip()[:2000]
        headers = list(record.headers or ()) + [
            ("x-gx-error", error.encode()), ("x-gx-attempts", str(attempts).encode()),
            ("x-gx-consumer-group", self.group_id.encode()),
            ("x-gx-original-topic", record.topic.encode()),
            ("x-gx-original-partition", str(record.partition).encode()),
            ("x-gx-original-offset", str(record.offset).encode())]
        producer = self._producer_factory()
        await producer.start()
        try:
            await producer.send_and_wait(f"{record.topic}.dlq", value=record.value,
                                         key=record.key, headers=headers)
        finally:
            await producer.stop()
        if event is not None:
            async with self.pool.acquire() as conn:
                if not await self._seen(conn, event):
                    await self._track(conn, event, "dead_lettered", error)
        self.dead_lettered += 1
        log.error("consumer %s: record %s/%d@%d dead-lettered: %s", self.group_id, record.topic,
                  record.partition, record.offset, error)
