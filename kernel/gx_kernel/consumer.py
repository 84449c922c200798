"""Idempotent consumer: exactly-once effects on top of at-least-once delivery.

Records arrive through a FastStream subscriber (`faststream.kafka`, batch mode) with
`AckPolicy.MANUAL`: FastStream's default (ACK_FIRST) commits before the handler runs, which is
at most once. For each record, in one database transaction: skip if this consumer already
tracked the event id; otherwise run the handler's effects and insert the tracking row. The
batch is acknowledged (its offsets committed) only after those transactions commit.

Failures are sorted by kind: a transient one (lost connection, serialization failure,
deadlock, too many connections, broker error, optimistic concurrency, `TransientError`) is
retried in place with jittered exponential backoff (tenacity); any other (domain or validation
error, a malformed payload) could never succeed, so the record goes to `<topic>.dlq` at once.
Either way a dead-lettered record carries the reason in its headers, is tracked as
dead-lettered and passed: it never blocks the partition, is never skipped silently. Should even
dead-lettering fail (the broker or the database gone), the partition is sought back to that
record before the acknowledgement, so the commit never passes it (FastStream #2618: an
un-acked record is lost once a later offset commits) and it is read again.

Partitions of a batch are handled side by side, each in order. Handlers using
`UnitOfWork.for_connection` wake the relay after the commit.
"""
from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import traceback
from collections.abc import Awaitable, Callable, Sequence
from itertools import chain
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import (
    CommitFailedError,
    IllegalStateError,
)
from faststream import AckPolicy
from faststream.kafka import KafkaBroker, KafkaRouter, Topic
from faststream.kafka.annotations import KafkaMessage
from faststream.kafka.subscriber.usecase import BatchSubscriber
from faststream.message import StreamMessage
from opentelemetry.trace import SpanKind
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_random_exponential

from gx_kernel import telemetry
from gx_kernel.kafka import InboundEvent, KafkaSecurity, decode, ensure_topics, leave_group_on_stop
from gx_kernel.transient import is_transient
from gx_kernel.uow import AfterCommit

log = logging.getLogger(__name__)
Handler = Callable[[asyncpg.Connection, InboundEvent], Awaitable[None]]
Wanted = Callable[[str], bool]  # by event type: does this consumer act on it at all?
Accepts = Callable[[InboundEvent], bool]  # by the decoded event (e.g. a field of its data)
Classifier = Callable[[BaseException], bool]  # is this failure worth another try?
BatchHandler = Callable[..., Awaitable[None]]
Registrar = KafkaBroker | KafkaRouter

_DB_SPAN: dict[str, Any] = {"db.system": "postgresql"}
REVOKE_WAIT_SECONDS = 30.0  # bounded: a stuck batch never holds the group's rebalance
# bounded: aiokafka retries a commit for ever while a subscribed topic is unknown to the broker
# (one that forgot its topics, or a topic deleted), and the subscriber would stop with it
ACK_TIMEOUT_SECONDS = 10.0


def _ddl(schema: str) -> str:
    return (f"CREATE TABLE IF NOT EXISTS {schema}.consumed_events ("
            f"consumer text NOT NULL, event_id uuid NOT NULL, topic text NOT NULL, "
            f"partition integer NOT NULL, kafka_offset bigint NOT NULL, outcome text NOT NULL, "
            f"error text, processed_at timestamptz NOT NULL DEFAULT now(), "
            f"PRIMARY KEY (consumer, event_id))")


def make_broker(bootstrap: str, **options: Any) -> KafkaBroker:
    """A FastStream broker with this environment's connection options (SASL/TLS).

    Its per-message log lines are at DEBUG; the consumer logs what matters itself."""
    return KafkaBroker(bootstrap, security=KafkaSecurity().faststream_security(),
                       log_level=logging.DEBUG, **options)


@dataclasses.dataclass(frozen=True)
class Subscription:
    """One consumer group as FastStream declares it: the same declaration runs the service
    and describes it in the AsyncAPI document (gx_contracts.asyncapi)."""

    group_id: str
    topics: Sequence[str]
    # Tansu answers a fetch only when this wait runs out (Kafka answers as soon as data
    # arrives), so a short wait is what keeps end-to-end latency low on the dev broker.
    fetch_max_wait_ms: int = 50
    max_records: int = 200
    # How long one poll waits for records (it returns as soon as some arrive).
    poll_timeout_ms: int = 200
    description: str = ""

    def declare(self, registrar: Registrar, handler: BatchHandler,
                listener: ConsumerRebalanceListener | None = None) -> None:
        """Declare the subscriber (manual ack, from the earliest offset) and the dead-letter
        topics it writes to; the topics themselves are created by the service at start."""
        subscriber = registrar.subscriber(
            *[Topic(t, declare=False) for t in self.topics], batch=True,
            group_id=self.group_id, ack_policy=AckPolicy.MANUAL, auto_offset_reset="earliest",
            max_poll_interval_ms=300_000, session_timeout_ms=10_000,
            fetch_max_wait_ms=self.fetch_max_wait_ms, max_records=self.max_records,
            batch_timeout_ms=self.poll_timeout_ms, listener=listener,
            parser=_tolerant_headers, decoder=_undecoded, title=self.group_id,
            description=self.description or f"consumer group {self.group_id}")
        subscriber(handler)
        if isinstance(subscriber, BatchSubscriber):
            subscriber.__class__ = _PromptBatchSubscriber
        for topic in self.topics:
            # Sent by `_send_dead_letter` with a plain producer: the record's own bytes and
            # headers must reach the DLQ unchanged (replay re-publishes them as they are).
            registrar.publisher(dead_letter_topic(topic),
                                title=f"{dead_letter_topic(topic)}:{self.group_id}",
                                description=f"dead letters of {topic} ({self.group_id})")


class _PromptBatchSubscriber(BatchSubscriber):
    """FastStream's batch subscriber, minus its sleep after an empty poll (as long as the poll
    again): a record arriving while the consumer is idle would wait out that sleep, about half
    the poll time on average, end to end. The poll itself still waits until records arrive."""

    __slots__ = ()  # the same layout, so an instance can take this class

    async def stop(self) -> None:
        leave_group_on_stop(self.consumer)  # also from Tansu's generation 0
        await super().stop()

    async def get_msg(self, consumer: AIOKafkaConsumer) -> tuple[Any, ...]:
        batches = await consumer.getmany(timeout_ms=self.batch_timeout_ms,
                                         max_records=self.max_records)
        return tuple(chain.from_iterable(batches.values()))


def dead_letter_topic(topic: str) -> str:
    return f"{topic}.dlq"


async def _tolerant_headers(records: tuple[Any, ...],
                            original: Callable[[tuple[Any, ...]], Awaitable[StreamMessage[Any]]],
                            ) -> StreamMessage[Any]:
    """FastStream's parser decodes every header value; one without a value would fail the
    whole batch, so it reads as empty (as `gx_kernel.kafka.decode` does)."""
    fixed = tuple(
        dataclasses.replace(r, headers=[(k, v if v is not None else b"") for k, v in r.headers])
        if any(v is None for _, v in (r.headers or ())) else r for r in records)
    return await original(fixed)


async def _undecoded(message: StreamMessage[Any]) -> StreamMessage[Any]:
    """The consumer reads the raw records (`gx_kernel.kafka.decode`), never FastStream's body:
    the handler's one argument is the message itself. Asking for it by annotation
    (`message: KafkaMessage`) instead makes FastStream resolve it per batch in a worker thread
    (fast_depends runs a sync context lookup through anyio.to_thread)."""
    return message


class _Assignment(ConsumerRebalanceListener):  # type: ignore[misc]  # aiokafka is untyped
    def __init__(self, assigned: asyncio.Event, busy: asyncio.Lock) -> None:
        self.assigned, self.busy = assigned, busy

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        """Let the batch in hand finish and commit before the partitions move: the next owner
        then starts after it instead of handling the same records at the same time."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(REVOKE_WAIT_SECONDS), self.busy:
                pass

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        if assigned:
            self.assigned.set()


class IdempotentConsumer:
    def __init__(self, *, pool: asyncpg.Pool, schema: str, group_id: str, topics: list[str],
                 handler: Handler, bootstrap: str,
                 producer_factory: Callable[[], AIOKafkaProducer], max_attempts: int = 5,
                 retry_backoff: float = 0.2, max_backoff: float = 5.0,
                 fetch_max_wait_ms: int = 50, wants: Wanted | None = None,
                 accepts: Accepts | None = None,
                 transient: Classifier = is_transient, max_records: int = 200,
                 description: str = "", partitions: int = 3):
        self.pool, self.schema, self.group_id = pool, schema, group_id
        self.partitions = partitions  # of a subscribed topic it has to create again
        self.topics, self.handler, self.bootstrap = topics, handler, bootstrap
        self._producer_factory, self.max_attempts = producer_factory, max_attempts
        self.retry_backoff, self.max_backoff, self.transient = retry_backoff, max_backoff, transient
        self.subscription = Subscription(group_id, tuple(topics), fetch_max_wait_ms,
                                         max_records, description=description)
        # Events of other types are passed without opening a transaction: nothing to track.
        self.wants = wants or (lambda _type: True)
        # A wanted type may still concern someone else (another domain's case): passed too.
        self.accepts = accepts
        self.skipped = 0
        self.processed = 0
        self.dead_lettered = 0
        self.assigned = asyncio.Event()  # set once partitions are assigned (tests wait on it)
        self._busy = asyncio.Lock()  # held while a batch is handled and acknowledged

    async def setup(self) -> None:
        async with self.pool.acquire() as conn:
            await conn.execute(_ddl(self.schema))

    def subscribe(self, registrar: Registrar) -> None:
        """Declare this consumer's subscriber on a broker (or router) the caller starts."""
        self.subscription.declare(registrar, self.on_batch,
                                  _Assignment(self.assigned, self._busy))

    async def run(self) -> None:
        """Consume on a broker of its own until cancelled (a service shares one broker among
        its consumers: gx_kernel.service)."""
        await self.setup()
        broker = make_broker(self.bootstrap)
        self.subscribe(broker)
        try:
            await broker.start()
            await asyncio.Event().wait()
        finally:
            await broker.stop()

    async def on_batch(self, body: Any) -> None:
        """FastStream's handler for one batch: its partitions side by side, each in order;
        then the acknowledgement, which commits no offset past an unprocessed record."""
        message: KafkaMessage = body  # see _undecoded
        records: tuple[Any, ...] = message.raw_message
        consumer: AIOKafkaConsumer = message.consumer
        partitions: dict[tuple[str, int], list[Any]] = {}
        for record in records:
            partitions.setdefault((record.topic, record.partition), []).append(record)
        async with self._busy:
            done = await asyncio.gather(*[self._partition(consumer, recs)
                                          for recs in partitions.values()])
            try:
                async with asyncio.timeout(ACK_TIMEOUT_SECONDS):
                    await message.ack()
            except (CommitFailedError, IllegalStateError) as exc:
                # Partition moved to another member mid-batch; it re-reads from the last
                # committed offset and the tracking rows make that harmless.
                log.info("consumer %s: commit skipped after rebalance: %r", self.group_id, exc)
            except TimeoutError:
                await self._restore_topics()
        if not all(done):
            await asyncio.sleep(self.max_backoff)  # the broker or database is away: let it be

    async def _restore_topics(self) -> None:
        """The commit hung: a subscribed topic is gone (a broker that forgot everything,
        Tansu's restart, keeps only what is written again). Create the missing ones, empty,
        so the next commit goes through; the records of this batch are read again after a
        rebalance at worst, and their tracking rows make that harmless."""
        topics = [*self.topics, *(dead_letter_topic(t) for t in self.topics)]
        log.warning("consumer %s: offsets not committed in %.0fs; creating the subscribed "
                    "topics the broker lacks", self.group_id, ACK_TIMEOUT_SECONDS)
        try:
            await ensure_topics(self.bootstrap, topics, self.partitions)
        except Exception as exc:  # noqa: BLE001 - broker away: the next batch tries again
            log.warning("consumer %s: topics not restored: %r", self.group_id, exc)

    async def _partition(self, consumer: AIOKafkaConsumer, records: list[Any]) -> bool:
        """Process one partition's records in order; on a record that could not even be
        dead-lettered, seek back to it (read again next poll) and stop this partition."""
        for record in records:
            try:
                await self.process(record)
            except Exception:  # noqa: BLE001 - held back, never passed over
                log.exception("consumer %s: record %s/%d@%d not processed; read again",
                              self.group_id, record.topic, record.partition, record.offset)
                with contextlib.suppress(IllegalStateError):  # no longer ours: fine
                    consumer.seek(TopicPartition(record.topic, record.partition), record.offset)
                return False
        return True

    async def process(self, record: Any) -> None:
        """Handle one record: transient failures retried, the rest (or the last) dead-lettered."""
        try:
            event = decode(record)
        except ValueError as exc:
            await self._dead_letter(record, None, exc, attempts=0)
            return
        if not self.wants(event.type) or (self.accepts is not None
                                          and not self.accepts(event)):
            self.skipped += 1
            return
        parent = telemetry.extract_context(event.headers)
        attributes: dict[str, Any] = {
            "messaging.system": "kafka", "messaging.consumer.group.name": self.group_id,
            "messaging.message.id": str(event.id), "gx.event_type": event.type}
        with telemetry.span(f"{record.topic} process", kind=SpanKind.CONSUMER, parent=parent,
                            **attributes) as span:
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
                    # Tracked first, in one statement with the seen-check: a redelivered event
                    # finds its row (or waits for the member handling it now, then finds it)
                    # and is skipped; the row rolls back with the effects if they fail.
                    if not await self._claim(conn, event):
                        return
                    with telemetry.span("db.transaction", **_DB_SPAN):
                        await self.handler(conn, event)
        after_commit.run()
        self.processed += 1

    async def _claim(self, conn: asyncpg.Connection, event: InboundEvent) -> bool:
        """Insert the event's tracking row as processed; False if it was already there."""
        return bool(await conn.fetchval(
            f"INSERT INTO {self.schema}.consumed_events (consumer, event_id, topic, partition, "
            f"kafka_offset, outcome) VALUES ($1, $2, $3, $4, $5, 'processed') "
            f"ON CONFLICT (consumer, event_id) DO NOTHING RETURNING 1", self.group_id, event.id,
            event.topic, event.partition, event.offset))

    async def _seen(self, conn: asyncpg.Connection, event: InboundEvent) -> bool:
        return bool(await conn.fetchval(
            f"SELECT 1 FROM {self.schema}.consumed_events WHERE consumer = $1 AND event_id = $2",
            self.group_id, event.id))

    async def _track(self, conn: asyncpg.Connection, event: InboundEvent, outcome: str,
                     error: str | None) -> None:
        await conn.execute(
            f"INSERT INTO {self.schema}.consumed_events (consumer, event_id, topic, partition, "
            f"kafka_offset, outcome, error) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            self.group_id, event.id, event.topic, event.partition, event.offset, outcome, error)

    async def _dead_letter(self, record: Any, event: InboundEvent | None, exc: Exception,
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

    async def _send_dead_letter(self, record: Any, headers: list[tuple[str, bytes]]) -> None:
        producer = self._producer_factory()
        await producer.start()
        try:
            await producer.send_and_wait(dead_letter_topic(record.topic), value=record.value,
                                         key=record.key, headers=headers)
        finally:
            await producer.stop()
