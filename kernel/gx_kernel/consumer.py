"""Idempotent consumer: exactly-once effects on top of at-least-once delivery.

For each record, in one database transaction: skip if this consumer already tracked the event
id; otherwise run the handler's effects and insert the tracking row. Offsets are committed to
Kafka only after that transaction commits. Failures are sorted by kind: a transient one (lost
connection, serialization failure, deadlock, too many connections, broker error, optimistic
concurrency, `TransientError`) is retried with jittered exponential backoff (tenacity); any
other (domain or validation error, a malformed payload) could never succeed, so the record goes
to `<topic>.dlq` at once. Either way a dead-lettered record carries the reason in its headers,
is tracked as dead-lettered and passed: it never blocks the partition, is never skipped
silently. Handlers using `UnitOfWork.for_connection` wake the relay after the commit.
"""
from __future__ import annotations

import asyncio
import logging
import traceback
from typing import Awaitable, Callable

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import (CommitFailedError, IllegalStateError, KafkaConnectionError,
                             KafkaError, KafkaTimeoutError)
from opentelemetry.trace import SpanKind
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_random_exponential

from gx_kernel import telemetry
from gx_kernel.eventstore import ConcurrencyError
from gx_kernel.kafka import InboundEvent, client_options, decode
from gx_kernel.uow import AfterCommit

log = logging.getLogger(__name__)
Handler = Callable[[asyncpg.Connection, InboundEvent], Awaitable[None]]
Wanted = Callable[[str], bool]  # by event type: does this consumer act on it at all?
Classifier = Callable[[BaseException], bool]  # is this failure worth another try?

# SQLSTATE classes and codes that a later try can get past: connection lost (08), transaction
# rolled back by serialization failure or deadlock (40), too many connections / out of
# resources (53), server shutting down or starting (57P0x), lock or statement timeout.
_TRANSIENT_SQLSTATE_CLASSES = {"08", "40", "53"}
_TRANSIENT_SQLSTATES = {"57P01", "57P02", "57P03", "55P03", "57014"}


class TransientError(Exception):
    """Raise (or raise from) in a handler for a failure that a later try may get past."""


def is_transient(exc: BaseException) -> bool:
    """True for failures worth retrying; follows `raise ... from` causes."""
    seen = 0
    current: BaseException | None = exc
    while current is not None and seen < 5:
        if isinstance(current, (TransientError, ConcurrencyError, OSError,
                                KafkaConnectionError, KafkaTimeoutError)):
            return True  # OSError: refused or reset connections, timeouts (TimeoutError)
        if isinstance(current, KafkaError) and current.retriable:
            return True
        state = getattr(current, "sqlstate", None)
        if isinstance(current, asyncpg.PostgresError) and state and (
                state[:2] in _TRANSIENT_SQLSTATE_CLASSES or state in _TRANSIENT_SQLSTATES):
            return True
        current, seen = current.__cause__, seen + 1
    return False


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
                 retry_backoff: float = 0.2, max_backoff: float = 5.0,
                 fetch_max_wait_ms: int = 50, wants: Wanted | None = None,
                 transient: Classifier = is_transient):
        self.pool, self.schema, self.group_id = pool, schema, group_id
        self.topics, self.handler, self.bootstrap = topics, handler, bootstrap
        self._producer_factory, self.max_attempts = producer_factory, max_attempts
        self.retry_backoff, self.max_backoff, self.transient = retry_backoff, max_backoff, transient
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
            fetch_max_wait_ms=self.fetch_max_wait_ms, **client_options())
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
        """Handle one record: transient failures retried, the rest (or the last) dead-lettered."""
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
            attempts = 0
            try:
                async for attempt in self._retrying(self.max_attempts):
                    with attempt:
                        attempts += 1
                        await self._apply(event)
            except Exception as exc:  # noqa: BLE001 - permanent, or transient tries used up
                telemetry.mark_error(span, exc)
                await self._dead_letter(record, event, exc, attempts)

    def _retrying(self, attempts: int) -> AsyncRetrying:
        return AsyncRetrying(
            stop=stop_after_attempt(attempts), reraise=True,
            retry=retry_if_exception(self.transient),
            wait=wait_random_exponential(multiplier=self.retry_backoff, max=self.max_backoff),
            before_sleep=lambda state: log.warning(
                "consumer %s: attempt %d/%d failed, retrying: %r", self.group_id,
                state.attempt_number, attempts,
                state.outcome.exception() if state.outcome else None))

    async def _apply(self, event: InboundEvent) -> None:
        after_commit = AfterCommit()  # units of work in the handler wake the relay through it
        async with self.pool.acquire() as conn:
            with after_commit.active():
                async with conn.transaction():
                    if await self._seen(conn, event):
                        return
                    with telemetry.span("db.transaction", **{"db.system": "postgresql"}):
                        await self.handler(conn, event)
                        await self._track(conn, event, "processed", None)
        after_commit.run()
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
        kind = "transient" if self.transient(exc) else "permanent"
        headers = list(record.headers or ()) + [
            ("x-gx-error", error.encode()), ("x-gx-attempts", str(attempts).encode()),
            ("x-gx-error-kind", kind.encode()),
            ("x-gx-error-type", f"{type(exc).__module__}.{type(exc).__qualname__}".encode()),
            ("x-gx-consumer-group", self.group_id.encode()),
            ("x-gx-original-topic", record.topic.encode()),
            ("x-gx-original-partition", str(record.partition).encode()),
            ("x-gx-original-offset", str(record.offset).encode())]
        async for attempt in self._retrying(self.max_attempts):  # the broker may blink too
            with attempt:
                await self._send_dead_letter(record, headers)
        if event is not None:
            async with self.pool.acquire() as conn:
                if not await self._seen(conn, event):
                    await self._track(conn, event, "dead_lettered", error)
        self.dead_lettered += 1
        log.error("consumer %s: record %s/%d@%d dead-lettered (%s, %d attempts): %s",
                  self.group_id, record.topic, record.partition, record.offset, kind, attempts,
                  error)

    async def _send_dead_letter(self, record, headers: list[tuple[str, bytes]]) -> None:
        producer = self._producer_factory()
        await producer.start()
        try:
            await producer.send_and_wait(f"{record.topic}.dlq", value=record.value,
                                         key=record.key, headers=headers)
        finally:
            await producer.stop()
