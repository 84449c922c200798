"""Outbox relay: publishes a service's stored events to Kafka in commit-safe order.

One relay per service (a PostgreSQL advisory lock elects it among replicas). It publishes a
batch, waits for every ack (acks=all), then saves its checkpoint. On a failure it saves what
was acknowledged before the first failed event, backs off and resumes there: nothing is lost,
an event may be sent twice (consumers drop duplicates by event id). A batch is awaited as a
whole before the next is sent, so one stream's events never overtake each other.

An event that fails `max_attempts` times raises an alarm (relay_stuck row read by /ready and
`relay_admin status`, an error log with its position, the gx.relay.stuck gauge). The relay
never skips it: it keeps trying, and an operator either retries it (after raising the limit)
or parks it, which publishes a stub in its place (gx_kernel.relay_admin).

A broker that lost its data (its offsets went backwards under our acks, the topic is gone or
empty while we had published, or its cluster id changed) is re-published from the start.
"""
from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable
from typing import Any

from aiokafka import AIOKafkaProducer
from opentelemetry.trace import SpanKind

from gx_kernel import metrics, telemetry
from gx_kernel.eventstore import Checkpoint, EventStore, StoredEvent
from gx_kernel.kafka import TopicWatch, encode, recreate_topic
from gx_kernel.relay_store import RelayPosition, RelayTables

log = logging.getLogger(__name__)
ISOLATE_BYTES = 16384  # aiokafka's batch size: a bigger record is sent (and acked) alone


class PublishFailed(Exception):
    def __init__(self, event: StoredEvent, cause: BaseException):
        super().__init__(f"{event.id} at {tuple(event.checkpoint)}: {cause!r}")
        self.event, self.cause = event, cause


class BrokerForgot(Exception):
    """The broker no longer holds what it acknowledged."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class OutboxRelay:
    def __init__(self, store: EventStore, producer_factory: Callable[[], AIOKafkaProducer],
                 topic: str, source: str, name: str = "relay", batch_size: int = 500,
                 idle_wait: float = 0.2, max_backoff: float = 5.0, max_attempts: int = 5,
                 bootstrap: str | None = None, partitions: int = 3,
                 broker_check_interval: float = 5.0, operator_poll: float = 0.5):
        self.store, self.topic, self.source, self.name = store, topic, source, name
        self._factory, self.batch_size = producer_factory, batch_size
        self.idle_wait, self.max_backoff, self.max_attempts = idle_wait, max_backoff, max_attempts
        # Without a bootstrap address the relay does not ask the broker what it holds.
        self.bootstrap, self.partitions = bootstrap, partitions
        self._watch = TopicWatch(bootstrap) if bootstrap is not None else None
        self.broker_check_interval, self.operator_poll = broker_check_interval, operator_poll
        self.tables = RelayTables(store.pool, store.schema, name)
        self._producer: AIOKafkaProducer | None = None
        self._pos = RelayPosition(Checkpoint.START, {}, None)  # type: ignore[attr-defined]
        self._parked: dict[uuid.UUID, str] = {}  # event id -> reason: published as a stub
        self._careful = False  # after a failure the head event goes alone, before the rest
        self._checked_at = 0.0
        self._lag_at = 0.0
        self.gauge = metrics.RelayGauge(store.schema, name)
        self.published = 0  # events acknowledged by the broker since start (for tests/metrics)
        self.rebuilds = 0  # times the broker was found to have lost its data

    async def setup(self) -> None:
        await self.tables.setup()

    async def checkpoint(self) -> Checkpoint:
        return (await self.tables.load()).checkpoint

    async def run(self) -> None:
        """Run forever as the elected relay of this service."""
        await self.setup()
        async with self.store.pool.acquire() as lock_conn:
            while not await lock_conn.fetchval("SELECT pg_try_advisory_lock(hashtext($1))",
                                               f"{self.store.schema}.{self.name}"):
                await asyncio.sleep(2.0)  # another replica relays; stand by
            self.gauge = metrics.relay_gauge(self.store.schema, self.name)
            try:
                await self._loop()
            finally:
                metrics.forget_relay(self.store.schema, self.name)
                try:  # the session lock first: closing clients can take seconds, or be cancelled
                    await lock_conn.execute("SELECT pg_advisory_unlock_all()")
                except BaseException:
                    lock_conn.terminate()  # never leave the lock on a pooled connection
                    raise
                finally:
                    await self._close_producer()
                    if self._watch is not None:
                        await self._watch.close()

    async def _loop(self) -> None:
        backoff, attempts, failing = 0.1, 0, None
        self._pos = await self.tables.load()
        self._parked = await self.tables.parked()
        if alarm := await self.tables.stuck():  # raised before a restart: holds until it goes
            attempts, failing = self.max_attempts, uuid.UUID(alarm["event_id"])
            self.gauge.stuck = True
        self._checked_at = 0.0  # ask the broker before the first batch
        while True:
            try:
                await self._check_broker()
                sent = await self.publish_batch(self._pos.checkpoint)
                if failing is not None:
                    await self._resolved(failing)
                backoff, attempts, failing = 0.1, 0, None
            except BrokerForgot as lost:
                await self._rebuild(lost)
                continue
            except PublishFailed as failed:
                attempts = attempts + 1 if failed.event.id == failing else 1
                failing = failed.event.id
                await self._failed(failed, attempts, backoff)
                if attempts >= self.max_attempts and await self._wait_for_operator(backoff):
                    attempts = 0
                backoff = min(backoff * 2, self.max_backoff)
                continue
            except Exception as exc:  # noqa: BLE001 - broker or database down: back off, resume
                log.warning("relay %s: publish failed, retrying in %.1fs: %r",
                            self.name, backoff, exc)
                await self._close_producer()
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self.max_backoff)
                self._pos = await self.tables.load()  # resume from what the broker acknowledged
                self._checked_at = 0.0
                continue
            await self._update_lag(sent is None)
            if sent is None:
                await self.store.wait_for_append(self.idle_wait)

    # -- publishing -------------------------------------------------------------------------
    async def publish_batch(self, after: Checkpoint) -> Checkpoint | None:
        """Publish the next batch after `after`; return the new checkpoint, None if idle.

        Raises PublishFailed for the first event not acknowledged, after saving everything
        acknowledged before it; BrokerForgot if an ack shows the broker lost earlier data."""
        events = await self.store.read_all(after, self.batch_size)
        if not events:
            return None
        producer = await self._ensure_producer()
        results: list[Any] = [None] * len(events)
        pending: list[tuple[int, asyncio.Future[Any]]] = []
        for i, event in enumerate(events):
            try:
                record = encode(event, self.source, self._parked.get(event.id))
                alone = (i == 0 and self._careful) or len(record[1]) > ISOLATE_BYTES
                if alone and not await self._settle(pending, results):
                    break
                pending.append((i, await self._send(producer, event, *record)))
                if alone and not await self._settle(pending, results):
                    break
            except Exception as exc:  # noqa: BLE001 - this record only (e.g. too large)
                results[i] = exc
                break
        await self._settle(pending, results)
        return await self._acknowledged(events, results)

    async def _settle(self, pending: list[tuple[int, asyncio.Future[Any]]],
                      results: list[Any]) -> bool:
        """Wait for the records in flight; False if any of them failed."""
        outcomes = await asyncio.gather(*(f for _, f in pending), return_exceptions=True)
        for (i, _), outcome in zip(pending, outcomes):
            results[i] = outcome
        pending.clear()
        return not any(isinstance(o, BaseException) for o in outcomes)

    async def _acknowledged(self, events: list[StoredEvent], results: list[Any]) -> Checkpoint:
        offsets, done = dict(self._pos.offsets), 0
        for _event, result in zip(events, results):
            if result is None or isinstance(result, BaseException):
                break
            if result.offset <= offsets.get(result.partition, -1):
                raise BrokerForgot(f"partition {result.partition} acknowledged offset "
                                   f"{result.offset} after {offsets[result.partition]}")
            offsets[result.partition] = result.offset
            done += 1
        if done:
            self._pos = RelayPosition(events[done - 1].checkpoint, offsets, self._pos.cluster_id)
            await self.tables.save(self._pos)
            self.published += done
        if done < len(events):
            cause = results[done] if results[done] is not None else RuntimeError("not sent")
            raise PublishFailed(events[done], cause)
        self._careful = False
        return self._pos.checkpoint

    async def _send(self, producer: AIOKafkaProducer, event: StoredEvent, key: bytes,
                    value: bytes, headers: list[tuple[str, bytes]]) -> asyncio.Future[Any]:
        parent = telemetry.context_from_traceparent(event.metadata.get("traceparent"))
        with telemetry.span(f"{self.topic} publish", kind=SpanKind.PRODUCER, parent=parent,
                            **{"messaging.system": "kafka", "messaging.destination.name": self.topic,
                               "messaging.message.id": str(event.id), "gx.event_type": event.type}):
            tp = telemetry.current_traceparent()
            if tp:
                headers = headers + [("traceparent", tp.encode())]
            sent: asyncio.Future[Any] = await producer.send(self.topic, value=value, key=key,
                                                            headers=headers)
            return sent

    # -- the alarm --------------------------------------------------------------------------
    async def _failed(self, failed: PublishFailed, attempts: int, backoff: float) -> None:
        e = failed.event
        error = f"{type(failed.cause).__name__}: {failed.cause}"
        metrics.count_failure(self.store.schema, self.name, type(failed.cause).__name__)
        self._careful = True
        await self._close_producer()
        await self._update_lag(False)
        if attempts >= self.max_attempts:
            log.error("relay %s STUCK at position %d (tx %d): event %s %s v%d of %s, "
                      "%d tries: %s; resolve with gx_kernel.relay_admin retry|park",
                      self.name, e.position, e.tx_id, e.id, e.type, e.version, e.stream_id,
                      attempts, error)
            await self.tables.raise_alarm(e, error, attempts)
            self.gauge.stuck = True
        else:
            log.warning("relay %s: event %s at position %d failed (try %d/%d), retrying in "
                        "%.1fs: %s", self.name, e.id, e.position, attempts, self.max_attempts,
                        backoff, error)
            await asyncio.sleep(backoff)

    async def _wait_for_operator(self, timeout: float) -> bool:
        """While stuck: wait for the next try, or less if an operator retries or parks.
        True if the operator asked, so the count of tries starts again."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if await self.tables.take_retry_request():
                log.warning("relay %s: operator asked to retry", self.name)
                return True
            parked = await self.tables.parked()
            if parked != self._parked:
                self._parked = parked
                log.warning("relay %s: operator parked an event; publishing a stub", self.name)
                return True
            await asyncio.sleep(self.operator_poll)
        return False

    async def _resolved(self, event_id: uuid.UUID) -> None:
        if self.gauge.stuck:
            log.warning("relay %s: event %s published; alarm cleared", self.name, event_id)
        self.gauge.stuck = False
        await self.tables.clear_alarm()

    async def _update_lag(self, idle: bool) -> None:
        if idle and not self.gauge.stuck:
            self.gauge.lag = 0
        elif time.monotonic() - self._lag_at >= 1.0:  # a count is a scan: once a second
            self._lag_at = time.monotonic()
            self.gauge.lag = await self.tables.lag(self._pos.checkpoint)

    # -- a broker that forgot ---------------------------------------------------------------
    async def _check_broker(self) -> None:
        """Before a batch, now and then: does the broker still hold what it acknowledged?

        A partition we published to reads as empty (Tansu under-reports end offsets, but
        never as 0 once it holds a record), the topic is gone, or the cluster id changed."""
        if self._watch is None:
            return
        now = time.monotonic()
        if now - self._checked_at < self.broker_check_interval:
            return
        view = await self._watch.view(self.topic)
        self._checked_at = now
        pos = self._pos
        if pos.offsets and pos.cluster_id and view.cluster_id != pos.cluster_id:
            raise BrokerForgot(f"cluster id {pos.cluster_id} became {view.cluster_id}")
        if pos.offsets and not view.exists:
            raise BrokerForgot("topic missing although events were published")
        emptied = [p for p in pos.offsets if not view.end_offsets.get(p)]
        if emptied:
            raise BrokerForgot(f"partitions {emptied} empty although events were published")
        if view.cluster_id != pos.cluster_id:
            self._pos = pos._replace(cluster_id=view.cluster_id)
            await self.tables.save(self._pos)

    async def _rebuild(self, lost: BrokerForgot) -> None:
        """Empty the topic (records written since the loss would otherwise come first) and
        publish every event again, in the store's order; parked events as their stubs."""
        log.error("relay %s: the broker lost topic %s (%s); publishing every event again "
                  "from the start", self.name, self.topic, lost.reason)
        await self._close_producer()
        cluster_id = None
        if self.bootstrap is not None and self._watch is not None:
            await recreate_topic(self.bootstrap, self.topic, self.partitions)
            cluster_id = (await self._watch.view(self.topic)).cluster_id
        self._pos = RelayPosition(Checkpoint.START, {}, cluster_id)  # type: ignore[attr-defined]
        await self.tables.save(self._pos)
        self._parked = await self.tables.parked()
        self._checked_at = time.monotonic()
        self._careful = True  # a new topic may refuse the first batch: nothing may pass it
        self.rebuilds += 1

    # -- producer ---------------------------------------------------------------------------
    async def _ensure_producer(self) -> AIOKafkaProducer:
        if self._producer is None:
            producer = self._factory()
            await producer.start()
            self._producer = producer
        return self._producer

    async def _close_producer(self) -> None:
        if self._producer is not None:
            producer, self._producer = self._producer, None
            try:
                await asyncio.wait_for(producer.stop(), 5)
            except Exception:  # noqa: BLE001 - a dead broker may fail the close too
                pass
