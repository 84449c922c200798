"""Contract of the event store: one abstract suite, run against PostgreSQL and in memory.

As `eventsourcing`'s tests/persistence.py: `EventStoreContract` holds the tests, each
subclass supplies a `store` and `tx` (opens a transaction and yields what `conn=` takes).
"""
import asyncio
import contextlib
import random
import uuid
from datetime import date

import pytest
from aiokafka.record.default_records import DefaultRecordBatchBuilder

from gx_kernel.errors import EventTooLarge
from gx_kernel.eventstore import Checkpoint, ConcurrencyError, EventStore, NewEvent
from gx_kernel.kafka import encode, record_size
from gx_kernel.memstore import InMemoryEventStore
from gx_kernel.ports import EventStorePort
from gx_kernel.telemetry import span


def ev(n: int = 0, kind: str = "thing.happened") -> NewEvent:
    return NewEvent(type=kind, data={"n": n, "名称": "天堂村"})


class Rollback(Exception):
    """Raised in a test to leave a transaction by rolling it back."""


class EventStoreContract:
    """Behaviour every event store implementation must have."""

    async def take_tx_id(self, conn) -> None:
        """Make the open transaction take its id now (before it appends)."""

    async def test_is_an_event_store_port(self, store):
        assert isinstance(store, EventStorePort)

    async def test_append_and_read_stream(self, store):
        stored = await store.append("s-1", 0, [ev(1), ev(2)],
                                    metadata={"actor": "u1", "role": "r"})
        assert [e.version for e in stored] == [1, 2]
        read = await store.read_stream("s-1")
        assert [(e.id, e.version, e.data["n"]) for e in read] == [
            (e.id, e.version, e.data["n"]) for e in stored]
        assert read[0].data["名称"] == "天堂村"
        assert read[0].metadata["actor"] == "u1"
        assert read[0].metadata["correlation_id"]  # filled in when the caller gave none
        assert read[0].schema_version == 1
        assert await store.stream_version("s-1") == 2
        assert [e.version for e in await store.read_stream("s-1", after_version=1)] == [2]

    async def test_data_reads_back_as_json(self, store):
        ident = uuid.uuid4()
        await store.append("s-1", 0, [NewEvent("thing.happened", {"id": ident,
                                                                 "on": date(2026, 5, 1)})])
        (read,) = await store.read_stream("s-1")
        assert read.data == {"id": str(ident), "on": "2026-05-01"}
        read.data["id"] = "changed"  # a reader's copy: the store is not affected
        assert (await store.read_stream("s-1"))[0].data["id"] == str(ident)

    async def test_stale_expected_version_is_rejected_before_taking_a_position(self, store):
        await store.append("s-1", 0, [ev()])
        with pytest.raises(ConcurrencyError) as info:
            await store.append("s-1", 0, [ev()])
        assert info.value.status == 409 and info.value.actual == 1
        with pytest.raises(ConcurrencyError):
            await store.append("s-1", 5, [ev()])
        with pytest.raises(ConcurrencyError):
            await store.append("s-new", 3, [ev()])  # a stream that does not exist yet
        last = await store.append("s-1", 1, [ev()])
        # The losers took no sequence numbers: positions stay dense.
        assert last[0].position == (await store.read_stream("s-1"))[0].position + 1

    async def test_none_expected_version_appends_at_end(self, store):
        await store.append("s-1", None, [ev(1)])
        await store.append("s-1", None, [ev(2)])
        assert [e.version for e in await store.read_stream("s-1")] == [1, 2]

    async def test_empty_append_writes_nothing(self, store):
        assert await store.append("s-1", 0, []) == []
        assert await store.stream_version("s-1") == 0

    async def test_concurrent_appends_same_version_exactly_one_wins(self, store):
        await store.append("s-1", 0, [ev()])
        results = await asyncio.gather(*[store.append("s-1", 1, [ev(i)]) for i in range(8)],
                                       return_exceptions=True)
        assert sum(not isinstance(r, Exception) for r in results) == 1
        assert all(isinstance(r, ConcurrencyError) for r in results if isinstance(r, Exception))
        assert await store.stream_version("s-1") == 2

    async def test_append_in_callers_transaction_rolls_back_with_it(self, store, tx):
        with pytest.raises(Rollback):
            async with tx() as conn:
                await store.append("s-1", 0, [ev()], conn=conn)
                await store.append("s-1", 1, [ev()], conn=conn)  # twice in one transaction
                assert await store.stream_version("s-1", conn=conn) == 2
                assert len(await store.read_stream("s-1", conn=conn)) == 2
                raise Rollback
        assert await store.read_stream("s-1") == []
        assert await store.stream_version("s-1") == 0

    async def test_read_all_orders_and_resumes_from_checkpoint(self, store):
        for i in range(5):
            await store.append(f"s-{i % 2}", None, [ev(i)])
        first = await store.read_all(Checkpoint.START, limit=3)
        rest = await store.read_all(first[-1].checkpoint)
        assert [e.data["n"] for e in first + rest] == [0, 1, 2, 3, 4]
        assert await store.read_all(rest[-1].checkpoint) == []

    async def test_reader_never_passes_a_transaction_that_commits_late(self, store, tx):
        """The classic gap: an early insert that commits after a later one."""
        async with tx() as slow:
            await store.append("slow", 0, [ev(1)], conn=slow)  # lower position, not committed
            await store.append("fast", 0, [ev(2)])  # higher position, committed
            assert await store.read_all() == []  # a naive position reader would return "fast"
        assert [e.stream_id for e in await store.read_all()] == ["slow", "fast"]

    async def test_stream_order_holds_when_a_transaction_wrote_before_appending(self, store, tx):
        """A transaction with an older id must not append behind a newer writer of the stream."""
        await store.append("s", 0, [ev(1)])
        with pytest.raises(Rollback):
            async with tx() as early:
                await self.take_tx_id(early)
                await store.append("s", 1, [ev(2)])  # a newer transaction moves the stream on
                with pytest.raises(ConcurrencyError):
                    await store.append("s", 2, [ev(3)], conn=early)
                raise Rollback
        versions = [(e.stream_id, e.version) for e in await store.read_all()]
        assert versions == [("s", 1), ("s", 2)]

    async def test_wait_for_append_wakes_on_notify(self, store):
        waiting = asyncio.create_task(store.wait_for_append(10))
        await asyncio.sleep(0)
        store.notify_committed()
        await asyncio.wait_for(waiting, 5)

    async def test_concurrent_writers_reader_sees_every_event_exactly_once(self, store, tx):
        """8 writers with random in-transaction delays; a reader polls throughout."""
        written: list[uuid.UUID] = []
        done = asyncio.Event()

        async def writer(w: int) -> None:
            for i in range(40):
                async with tx() as conn:
                    stored = await store.append(f"w{w}-{i % 5}", None, [ev(i), ev(i)],
                                                conn=conn)
                    await asyncio.sleep(random.random() * 0.01)
                written.extend(e.id for e in stored)

        async def reader() -> list:
            seen, cp = [], Checkpoint.START
            while True:
                finished = done.is_set()
                batch = await store.read_all(cp, limit=50)
                seen += batch
                if batch:
                    cp = batch[-1].checkpoint
                elif finished:
                    return seen
                else:
                    await asyncio.sleep(0.002)

        reading = asyncio.create_task(reader())
        await asyncio.gather(*[writer(w) for w in range(8)])
        done.set()
        seen = await reading
        ids = [e.id for e in seen]
        assert len(ids) == len(set(ids)) == len(written) == 8 * 40 * 2
        assert set(ids) == set(written)
        by_stream: dict[str, list[int]] = {}
        for e in seen:
            by_stream.setdefault(e.stream_id, []).append(e.version)
        assert all(v == sorted(v) for v in by_stream.values())


    # -- the size limit (issue 8): an event the broker would refuse is never stored ----------
    async def test_an_event_too_large_for_the_broker_is_refused_and_nothing_written(self, store):
        big = NewEvent("thing.happened", {"notes": "很长的说明" * 20_000})  # ~300 KB of UTF-8
        await store.append("s-1", 0, [ev(1)])
        with pytest.raises(EventTooLarge) as info:
            await store.append("s-1", 1, [ev(2), big])  # the small one goes neither
        assert info.value.status == 413 and info.value.code == "event_too_large"
        assert info.value.size > info.value.limit == store.max_event_bytes
        assert f"上限 {store.max_event_bytes} 字节" in info.value.message
        with pytest.raises(EventTooLarge):
            await store.append("s-2", 0, [big])
        assert [e.version for e in await store.read_stream("s-1")] == [1]
        assert await store.stream_version("s-2") == 0
        assert [(e.stream_id, e.version) for e in await store.read_all()] == [("s-1", 1)]
        assert (await store.append("s-1", 1, [ev(3)]))[0].version == 2  # positions intact

    async def test_a_refused_event_leaves_the_callers_transaction_usable(self, store, tx):
        big = NewEvent("thing.happened", {"notes": "x" * (store.max_event_bytes + 1)})
        async with tx() as conn:
            await store.append("s-1", 0, [ev(1)], conn=conn)
            with pytest.raises(EventTooLarge):
                await store.append("s-2", 0, [big], conn=conn)
            await store.append("s-3", 0, [ev(3)], conn=conn)  # refused before any statement
        assert [e.stream_id for e in await store.read_all()] == ["s-1", "s-3"]

    async def test_the_limit_is_the_record_size_exactly(self, store):
        event = NewEvent("thing.happened", {"notes": "天堂村" * 500})
        meta = {"correlation_id": "c-1", "actor": "u1"}
        store.max_event_bytes = record_size("s-1", event, meta)
        await store.append("s-1", 0, [event], metadata=meta)  # at the limit: accepted
        store.max_event_bytes -= 1
        again = NewEvent("thing.happened", event.data, id=uuid.uuid4())
        with pytest.raises(EventTooLarge):
            await store.append("s-1", 1, [again], metadata=meta)

    async def test_the_size_counted_is_never_below_the_record_the_relay_sends(self, store):
        """Exponent numbers come back from jsonb written out in full (1e+300: 301 digits)."""
        events = [NewEvent("agri.report.submitted", {"v": 1e300, "w": -2.5e-07, "t": "天" * 99,
                                                     "n": [1.5e16, 3, None, True]}),
                  NewEvent("agri.report.submitted", {"id": str(uuid.uuid4()), "x": {"y": []}})]
        with span("request"):  # a traceparent in metadata, and one the relay adds
            stored = await store.append("report-1", 0, events, metadata={"actor": "u1"})
        for new, written in zip(events, await store.read_all()):
            key, value, headers = encode(written, "/gxstat/a-rather-long-service-name")
            headers.append(("traceparent", b"00-" + b"0" * 32 + b"-" + b"0" * 16 + b"-01"))
            sent = DefaultRecordBatchBuilder.estimate_size_in_bytes(key, value, headers)
            assert record_size("report-1", new, stored[0].metadata) >= sent


class TestPostgresEventStore(EventStoreContract):
    @pytest.fixture
    async def store(self, pool, schema):
        s = EventStore(pool, schema)
        await s.setup()
        return s

    @pytest.fixture
    def tx(self, pool):
        @contextlib.asynccontextmanager
        async def open_transaction():
            async with pool.acquire() as conn:
                async with conn.transaction():
                    yield conn
        return open_transaction

    async def take_tx_id(self, conn) -> None:
        await conn.fetchval("SELECT pg_current_xact_id()")  # assigns the id now


class TestInMemoryEventStore(EventStoreContract):
    @pytest.fixture
    def store(self):
        return InMemoryEventStore()

    @pytest.fixture
    def tx(self, store):
        return store.transaction

    async def test_a_transaction_holds_its_streams_until_it_ends(self, store):
        """A second writer of the stream waits, then sees the first one's version."""
        async with store.transaction() as first:
            await store.append("s", 0, [ev(1)], conn=first)
            second = asyncio.create_task(store.append("s", 0, [ev(2)]))
            await asyncio.sleep(0.01)
            assert not second.done()
        with pytest.raises(ConcurrencyError):
            await second
        assert [e.data["n"] for e in await store.read_stream("s")] == [1]


async def test_event_too_large_answers_413_problem_in_chinese():
    """The HTTP edge maps the store's refusal to RFC 9457 problem JSON."""
    import httpx
    from fastapi import FastAPI

    from gx_kernel import http

    app = FastAPI()
    http.install(app, "test")

    @app.post("/things")
    async def things():
        raise EventTooLarge(300_000, 262_144, "thing.happened")

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://t") as client:
        r = await client.post("/things")
    assert r.status_code == 413
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["code"] == "event_too_large" and body["status"] == 413
    assert body["detail"] == "提交内容过大（300000 字节，上限 262144 字节），请精简后重试"
    assert body["limit_bytes"] == 262_144
