"""Contract of the bulk append (gx_kernel.bulk_append): PostgreSQL and in memory alike.

Each behaviour `EventStore.append` promises must hold for `append_many` over many streams:
optimistic versions (one stale stream: nothing written, no position taken, the caller's
transaction usable), gap-free reading, the size limit, metadata, the relay's wake-up.
"""
import asyncio
import contextlib
import uuid
from dataclasses import dataclass, field

import pytest

from gx_kernel import bulk_append
from gx_kernel.bulk_append import StreamAppend, append_many
from gx_kernel.errors import EventTooLarge
from gx_kernel.eventstore import Checkpoint, ConcurrencyError, EventStore, NewEvent
from gx_kernel.kafka import check_event_size, record_size
from gx_kernel.memstore import InMemoryEventStore
from gx_kernel.uow import BULK_MIN_STREAMS, FakeUnitOfWork, UnitOfWork


def ev(n: int = 0, kind: str = "thing.happened") -> NewEvent:
    return NewEvent(type=kind, data={"n": n, "名称": "天堂村"})


class Rollback(Exception):
    pass


@dataclass
class Thing:
    """A minimal aggregate for the unit of work."""

    stream_id: str
    version: int = 0
    pending_events: list = field(default_factory=list)


class BulkAppendContract:
    async def take_tx_id(self, conn) -> None:
        """Make the open transaction take its id now."""

    async def test_new_existing_and_open_ended_streams_in_one_call(self, store):
        await store.append("old", 0, [ev(1)])
        await store.append("end", 0, [ev(1), ev(2)])
        meta_a, meta_b = {"actor": "a"}, {"actor": "b", "correlation_id": "c-1"}
        stored = await append_many(store, [
            StreamAppend("new", 0, [ev(10), ev(11)], meta_a),
            StreamAppend("old", 1, [ev(12)], meta_b),
            StreamAppend("end", None, [ev(13)], meta_a),
            StreamAppend("fresh-end", None, [ev(14)]),
            StreamAppend("nothing", 0, []),  # no events: no stream
        ])
        assert [(e.stream_id, e.version, e.data["n"]) for e in stored] == [
            ("new", 1, 10), ("new", 2, 11), ("old", 2, 12), ("end", 3, 13), ("fresh-end", 1, 14)]
        positions = [e.position for e in stored]
        assert positions == sorted(positions) and len(set(positions)) == 5
        assert [e.data["n"] for e in await store.read_stream("new")] == [10, 11]
        assert await store.stream_version("old") == 2 and await store.stream_version("end") == 3
        assert await store.stream_version("nothing") == 0
        read = {(e.stream_id, e.version): e for e in await store.read_all(limit=100)}
        assert read["new", 1].metadata["actor"] == "a" and read["new", 1].metadata["correlation_id"]
        assert read["old", 2].metadata == {"actor": "b", "correlation_id": "c-1"}
        assert read["new", 1].data == {"n": 10, "名称": "天堂村"}
        # the readers' order is the order given (after what was there before)
        assert [e.id for e in await store.read_all(limit=100)][-5:] == [e.id for e in stored]
        # and appending one by one goes on from there
        assert (await store.append("new", 2, [ev()]))[0].version == 3

    async def test_one_stale_stream_fails_the_call_and_takes_no_position(self, store):
        await store.append("a", 0, [ev(1)])
        await store.append("b", 0, [ev(1)])
        for wrong in ([StreamAppend("x", 0, [ev()]), StreamAppend("a", 0, [ev()])],   # exists
                      [StreamAppend("y", 0, [ev()]), StreamAppend("b", 5, [ev()])],   # stale
                      [StreamAppend("z", 0, [ev()]), StreamAppend("q", 2, [ev()])]):  # absent
            with pytest.raises(ConcurrencyError) as info:
                await append_many(store, wrong)
            assert info.value.stream_id == wrong[1].stream_id
            assert info.value.expected == wrong[1].expected_version
        assert info.value.actual is None
        for sid in ("x", "y", "z", "q"):
            assert await store.stream_version(sid) == 0
        assert await store.stream_version("a") == 1 == await store.stream_version("b")
        first = (await store.read_stream("b"))[0].position
        last = await store.append("a", 1, [ev()])
        assert last[0].position == first + 1  # the failed calls took no sequence numbers

    async def test_a_conflict_leaves_the_callers_transaction_usable(self, store, tx):
        await store.append("a", 0, [ev(1)])
        async with tx() as conn:
            await store.append("before", 0, [ev(1)], conn=conn)
            with pytest.raises(ConcurrencyError):
                await append_many(store, [StreamAppend("c", 0, [ev()]),
                                          StreamAppend("a", 0, [ev()])], conn=conn)
            with pytest.raises(EventTooLarge):
                await append_many(store, [StreamAppend("d", 0, [ev()]), StreamAppend(
                    "e", 0, [NewEvent("thing.happened", {"x": "长" * store.max_event_bytes})])],
                    conn=conn)
            await append_many(store, [StreamAppend("c", 0, [ev(2)]),
                                      StreamAppend("a", 1, [ev(2)])], conn=conn)
        assert [(e.stream_id, e.version) for e in await store.read_all()] == [
            ("a", 1), ("before", 1), ("c", 1), ("a", 2)]
        assert await store.stream_version("d") == 0

    async def test_rolls_back_with_the_callers_transaction(self, store, tx):
        with pytest.raises(Rollback):
            async with tx() as conn:
                await append_many(store, [StreamAppend(f"s{i}", 0, [ev(i)]) for i in range(30)],
                                  conn=conn)
                assert await store.stream_version("s7", conn=conn) == 1
                assert len(await store.read_stream("s7", conn=conn)) == 1
                raise Rollback
        assert await store.read_all() == [] and await store.stream_version("s7") == 0

    async def test_a_stream_twice_is_refused(self, store):
        with pytest.raises(ValueError):
            await append_many(store, [StreamAppend("a", 0, [ev()]), StreamAppend("a", 1, [ev()])])
        assert await store.stream_version("a") == 0

    async def test_the_size_limit_is_the_one_append_applies(self, store):
        """Refused exactly when `append` would refuse it — exponents counted expanded."""
        meta = {"correlation_id": "c-1"}
        cases = [NewEvent("thing.happened", {"notes": "天堂村" * 300}),
                 NewEvent("thing.happened", {"v": 1e300, "w": [2.5e-07] * 20}),
                 NewEvent("thing.happened", {"k": {"a": [1, 2, {"b": None}]} | {"t": "x" * 900}})]
        for event in cases:
            sid = f"s-{uuid.uuid4().hex[:6]}"
            size = record_size(sid, event, meta)
            for limit in (size - 1, size):
                store.max_event_bytes = limit
                try:
                    check_event_size(sid, [event], meta, limit)
                    expected_ok = True
                except EventTooLarge:
                    expected_ok = False
                fresh = NewEvent(event.type, event.data)
                if expected_ok:
                    await append_many(store, [StreamAppend(sid, 0, [fresh], meta)])
                else:
                    with pytest.raises(EventTooLarge):
                        await append_many(store, [StreamAppend("other", 0, [ev()], meta),
                                                  StreamAppend(sid, 0, [fresh], meta)])
                    assert await store.stream_version("other") == 0
                assert expected_ok == (limit == size)

    async def test_exponents_in_the_metadata_are_counted_expanded(self, store):
        """Numbers in exponent form in the metadata make every event sized exactly (a uuid's
        "e-" does not), so an append refused by `append` is refused here too."""
        meta = {"correlation_id": "3f2e-11aa", "weights": [1e300] * 100}
        sid, event = "s-exp", NewEvent("thing.happened", {"n": 1})
        size = record_size(sid, event, meta)
        assert size > 30_000  # the 100 exponents, expanded
        store.max_event_bytes = size - 1
        with pytest.raises(EventTooLarge):
            await append_many(store, [StreamAppend(sid, 0, [NewEvent(event.type, event.data)],
                                                   meta)])
        store.max_event_bytes = size
        await append_many(store, [StreamAppend(sid, 0, [NewEvent(event.type, event.data)], meta)])
        assert await store.stream_version(sid) == 1

    async def test_reader_never_passes_an_open_bulk_append(self, store, tx):
        async with tx() as slow:
            await append_many(store, [StreamAppend(f"slow{i}", 0, [ev(i)]) for i in range(20)],
                              conn=slow)
            await store.append("fast", 0, [ev()])
            assert await store.read_all() == []
        seen = await store.read_all(limit=100)
        assert [e.stream_id for e in seen] == [f"slow{i}" for i in range(20)] + ["fast"]
        assert await store.read_all(seen[-1].checkpoint) == []

    async def test_an_older_transaction_never_appends_behind_a_newer_writer(self, store, tx):
        await store.append("s", 0, [ev(1)])
        with pytest.raises(Rollback):
            async with tx() as early:
                await self.take_tx_id(early)
                await store.append("s", 1, [ev(2)])  # a newer transaction moves it on
                with pytest.raises(ConcurrencyError):
                    await append_many(store, [StreamAppend("t", 0, [ev()]),
                                              StreamAppend("s", None, [ev(3)])], conn=early)
                raise Rollback
        assert [(e.stream_id, e.version) for e in await store.read_all()] == [("s", 1), ("s", 2)]

    async def test_on_its_own_it_commits_and_wakes_the_relay(self, store):
        waiting = asyncio.create_task(store.wait_for_append(10))
        await asyncio.sleep(0)
        await append_many(store, [StreamAppend("a", 0, [ev()]), StreamAppend("b", 0, [ev()])])
        await asyncio.wait_for(waiting, 5)
        assert len(await store.read_all()) == 2

    async def test_bulk_writers_sharing_streams_all_get_through(self, store, tx):
        """Overlapping streams given in opposite orders: they wait, never deadlock (an older
        transaction that finds a newer writer ahead gets ConcurrencyError and tries again)."""
        names = [f"shared-{i}" for i in range(40)]

        async def writer(w: int) -> None:
            order = names if w % 2 else names[::-1]
            for _ in range(5):
                for _attempt in range(50):
                    try:
                        async with tx() as conn:
                            await append_many(store, [StreamAppend(s, None, [ev(w)])
                                                      for s in order], conn=conn)
                            await asyncio.sleep(0.001)
                        break
                    except ConcurrencyError:
                        await asyncio.sleep(0.001)

        await asyncio.wait_for(asyncio.gather(*[writer(w) for w in range(4)]), 60)
        assert [await store.stream_version(s) for s in names] == [20] * 40
        seen, cp = [], Checkpoint.START
        while batch := await store.read_all(cp, limit=300):
            seen += batch
            cp = batch[-1].checkpoint
        by_stream: dict[str, list[int]] = {}
        for e in seen:
            by_stream.setdefault(e.stream_id, []).append(e.version)
        assert all(v == list(range(1, 21)) for v in by_stream.values())

    async def test_unit_of_work_flushes_many_streams_in_bulk(self, store, uow_factory):
        things = [Thing(f"thing-{i}") for i in range(BULK_MIN_STREAMS + 4)]
        calls = []
        real = store.append

        async def counting(*a, **k):
            calls.append(a[0])
            return await real(*a, **k)

        store.append = counting
        async with uow_factory(store) as uow:
            for t in things:
                t.pending_events.append(ev(1))
                uow.add(t, {"actor": "u"})
            uow.collect("note", 0, [ev(2)])
        assert calls == []  # nothing appended one stream at a time
        assert all(t.version == 1 and t.pending_events == [] for t in things)
        assert len(uow.stored) == len(things) + 1
        assert len(await store.read_all(limit=100)) == len(things) + 1
        stale = [Thing(t.stream_id) for t in things]  # loaded at version 0: stale now
        with pytest.raises(ConcurrencyError):
            async with uow_factory(store) as uow:
                for t in stale:
                    t.pending_events.append(ev(3))
                    uow.add(t)
        assert len(await store.read_all(limit=100)) == len(things) + 1


class TestPostgresBulkAppend(BulkAppendContract):
    @pytest.fixture
    async def store(self, pool, schema):
        s = EventStore(pool, schema)
        await s.setup()
        return s

    @pytest.fixture
    def tx(self, pool):
        @contextlib.asynccontextmanager
        async def open_transaction():
            async with pool.acquire() as conn, conn.transaction():
                yield conn
        return open_transaction

    @pytest.fixture
    def uow_factory(self):
        return lambda store: UnitOfWork(store)

    async def take_tx_id(self, conn) -> None:
        await conn.fetchval("SELECT pg_current_xact_id()")


class TestPostgresBulkAppendByCopy(TestPostgresBulkAppend):
    """The same contract with every bulk append's events written by COPY (from
    `COPY_FROM` events on, positions, transaction id and time as the column defaults)."""

    @pytest.fixture(autouse=True)
    def every_append_copied(self, monkeypatch):
        monkeypatch.setattr(bulk_append, "COPY_FROM", 1)

    async def test_copied_events_read_back_as_returned(self, store, tx):
        async with tx() as conn:
            await store.append("before", 0, [ev(0)], conn=conn)  # the row defaults, same tx
            stored = await append_many(store, [StreamAppend(f"c{i}", 0, [ev(i), ev(i + 1)])
                                               for i in range(50)], conn=conn)
            xid = await conn.fetchval("SELECT pg_current_xact_id()::text::bigint")
            now = await conn.fetchval("SELECT now()")
        first = (await store.read_stream("before"))[0]
        assert {e.tx_id for e in stored} == {xid, first.tx_id}
        assert {e.recorded_at for e in stored} == {now, first.recorded_at}
        assert [e.position for e in stored] == sorted(e.position for e in stored)
        assert stored[0].position > first.position
        read = [e for e in await store.read_all(limit=200) if e.stream_id != "before"]
        assert [(e.id, e.stream_id, e.version, e.position, e.tx_id, e.data, e.metadata,
                 e.recorded_at) for e in read] == [
            (e.id, e.stream_id, e.version, e.position, e.tx_id, e.data, e.metadata,
             e.recorded_at) for e in stored]


class TestInMemoryBulkAppend(BulkAppendContract):
    @pytest.fixture
    def store(self):
        return InMemoryEventStore()

    @pytest.fixture
    def tx(self, store):
        return store.transaction

    @pytest.fixture
    def uow_factory(self):
        return lambda store: FakeUnitOfWork(store)
