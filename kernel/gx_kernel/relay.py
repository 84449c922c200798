"""Outbox relay: publishes a service's stored events to Kafka in commit-safe order.

One relay per service (a PostgreSQL advisory lock elects it among replicas). It publishes a
batch, waits for every ack (acks=all), then saves its checkpoint. On a broker failure it backs
off and resumes from the last saved checkpoint: nothing is lost, an event may be sent twice
(consumers drop duplicates by event id). A batch is awaited as a whole before the next is
sent, so one stream's events never overtake each other.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Callable

from aiokafka import AIOKafkaProducer
from opentelemetry.trace import SpanKind

from gx_kernel import telemetry
from gx_kernel.eventstore import Checkpoint, EventStore, StoredEvent
from gx_kernel.kafka import encode

log = logging.getLogger(__name__)


class OutboxRelay:
    def __init__(self, store: EventStore, producer_factory: Callable[[], AIOKafkaProducer],
                 topic: str, source: str, name: str = "relay", batch_size: int = 500,
                 idle_wait: float = 0.2, max_backoff: float = 5.0):
        self.store, self.topic, self.source, self.name = store, topic, source, name
        self._factory, self.batch_size = producer_factory, batch_size
        self.idle_wait, self.max_backoff = idle_wait, max_backoff
        self._producer: AIOKafkaProducer | None = None
        self.published = 0  # events acknowledged by the broker since start (for tests/metrics)

    async def setup(self) -> None:
        async with self.store.pool.acquire() as conn:
            await conn.execute(
                f"CREATE TABLE IF NOT EXISTS {self.store.schema}.relay_checkpoints ("
                f"name text PRIMARY KEY, tx_id bigint NOT NULL, position bigint NOT NULL, "
                f"updated_at timestamptz NOT NULL DEFAULT now())")

    async def checkpoint(self) -> Checkpoint:
        async with self.store.pool.acquire() as conn:
            row = await conn.fetchrow(
                f"SELECT tx_id, position FROM {self.store.schema}.relay_checkpoints "
                f"WHERE name = $1", self.name)
        return Checkpoint(row["tx_id"], row["position"]) if row else Checkpoint.START  # type: ignore[attr-defined]

    async def _save(self, cp: Checkpoint) -> None:
        async with self.store.pool.acquire() as conn:
            await conn.execute(
                f"INSERT INTO {self.store.schema}.relay_checkpoints (name, tx_id, position) "
                f"VALUES ($1, $2, $3) ON CONFLICT (name) DO UPDATE SET tx_id = $2, "
                f"position = $3, updated_at = now()", self.name, cp.tx_id, cp.position)

    async def run(self) -> None:
        """Run forever as the elected relay of this service."""
        await self.setup()
        async with self.store.pool.acquire() as lock_conn:
            while not await lock_conn.fetchval("SELECT pg_try_advisory_lock(hashtext($1))",
                                               f"{self.store.schema}.{self.name}"):
                await asyncio.sleep(2.0)  # another replica relays; stand by
            try:
                await self._loop()
            finally:
                await self._close_producer()
                await lock_conn.execute("SELECT pg_advisory_unlock_all()")

    async def _loop(self) -> None:
        backoff = 0.1
        cp = await self.checkpoint()
        while True:
            try:
                sent = await self.publish_batch(cp)
                backoff = 0.1
            except Exception as exc:  # noqa: BLE001 - broker or database down: back off, resume
                log.warning("relay %s: publish failed, retrying in %.1fs: %r",
                            self.name, backoff, exc)
                await self._close_producer()
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self.max_backoff)
                cp = await self.checkpoint()  # resume from what the broker acknowledged
                continue
            if sent is None:
                await self.store.wait_for_append(self.idle_wait)
            else:
                cp = sent

    async def publish_batch(self, after: Checkpoint) -> Checkpoint | None:
        """Publish the next batch after `after`; return the new checkpoint, None if idle."""
        events = await self.store.read_all(after, self.batch_size)
        if not events:
            return None
        producer = await self._ensure_producer()
        futures = [await self._send(producer, e) for e in events]
        await asyncio.gather(*futures)
        cp = events[-1].checkpoint
        await self._save(cp)
        self.published += len(events)
        return cp

    async def _send(self, producer: AIOKafkaProducer, event: StoredEvent) -> asyncio.Future:
        parent = telemetry.context_from_traceparent(event.metadata.get("traceparent"))
        with telemetry.span(f"{self.topic} publish", kind=SpanKind.PRODUCER, parent=parent,
                            **{"messaging.system": "kafka", "messaging.destination.name": self.topic,
                               "messaging.message.id": str(event.id), "gx.event_type": event.type}):
            key, value, headers = encode(event, self.source)
            tp = telemetry.current_traceparent()
            if tp:
                headers.append(("traceparent", tp.encode()))
            return await producer.send(self.topic, value=value, key=key, headers=headers)

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
