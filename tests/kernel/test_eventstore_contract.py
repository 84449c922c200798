"""Contract of the event store, against real PostgreSQL."""
import asyncio
import random
import uuid

import pytest

from gx_kernel.eventstore import Checkpoint, ConcurrencyError, NewEvent


def ev(n: int = 0, kind: str = "thing.happened") -> NewEvent:
    return NewEvent(type=kind, data={"n": n, "名称": "天堂村"})


async def test_append_and_read_stream(store):
    stored = await store.append("s-1", 0, [ev(1), ev(2)], metadata={"actor": "u1", "role": "r"})
    assert [e.version for e in stored] == [1, 2]
    read = await store.read_stream("s-1")
    assert [(e.id, e.version, e.data["n"]) for e in read] == [(e.id, e.version, e.data["n"])
                                                               for e in stored]
    assert read[0].data["名称"] == "天堂村"
    assert read[0].metadata["actor"] == "u1"
    assert read[0].metadata["correlation_id"]  # filled in when the caller gave none
    assert read[0].schema_version == 1
    assert await store.stream_version("s-1") == 2
    assert [e.version for e in await store.read_stream("s-1", after_version=1)] == [2]


async def test_stale_expected_version_is_rejected_before_taking_a_position(store, pool):
    await store.append("s-1", 0, [ev()])
    with pytest.raises(ConcurrencyError) as info:
        await store.append("s-1", 0, [ev()])
    assert info.value.status == 409 and info.value.actual == 1
    with pytest.raises(ConcurrencyError):
        await store.append("s-1", 5, [ev()])
    last = await store.append("s-1", 1, [ev()])
    # The two losers took no sequence numbers: positions stay dense.
    assert last[0].position == (await store.read_stream("s-1"))[0].position + 1


async def test_none_expected_version_appends_at_end(store):
    await store.append("s-1", None, [ev(1)])
    await store.append("s-1", None, [ev(2)])
    assert [e.version for e in await store.read_stream("s-1")] == [1, 2]


async def test_concurrent_appends_same_version_exactly_one_wins(store):
    await store.append("s-1", 0, [ev()])
    results = await asyncio.gather(*[store.append("s-1", 1, [ev(i)]) for i in range(8)],
                                   return_exceptions=True)
    assert sum(not isinstance(r, Exception) for r in results) == 1
    assert all(isinstance(r, ConcurrencyError) for r in results if isinstance(r, Exception))
    assert await store.stream_version("s-1") == 2


async def test_append_in_callers_transaction_rolls_back_with_it(store, pool):
    async with pool.acquire() as conn:
        with pytest.raises(RuntimeError):
            async with conn.transaction():
                await store.append("s-1", 0, [ev()], conn=conn)
                await store.append("s-1", 1, [ev()], conn=conn)  # twice in one transaction
                raise RuntimeError("boom")
    assert await store.read_stream("s-1") == []
    assert await store.stream_version("s-1") == 0


async def test_read_all_orders_and_resumes_from_checkpoint(store):
    for i in range(5):
        await store.append(f"s-{i % 2}", None, [ev(i)])
    first = await store.read_all(Checkpoint.START, limit=3)
    rest = await store.read_all(first[-1].checkpoint)
    assert [e.data["n"] for e in first + rest] == [0, 1, 2, 3, 4]


async def test_reader_never_passes_a_transaction_that_commits_late(store, pool):
    """The classic gap: an early insert that commits after a later one."""
    async with pool.acquire() as slow:
        tx = slow.transaction()
        await tx.start()
        await store.append("slow", 0, [ev(1)], conn=slow)  # lower position, not committed
        await store.append("fast", 0, [ev(2)])  # higher position, committed
        assert await store.read_all() == []  # a naive position reader would return "fast"
        await tx.commit()
    assert [e.stream_id for e in await store.read_all()] == ["slow", "fast"]


async def test_stream_order_holds_when_a_transaction_wrote_before_appending(store, pool):
    """A transaction with an older id must not append behind a newer writer of the stream."""
    await store.append("s", 0, [ev(1)])
    async with pool.acquire() as early:
        tx = early.transaction()
        await tx.start()
        await early.execute(f"CREATE TABLE {store.schema}.scratch (x int); "
                            f"INSERT INTO {store.schema}.scratch VALUES (1)")  # takes an xid
        await store.append("s", 1, [ev(2)])  # a newer transaction moves the stream on
        with pytest.raises(ConcurrencyError):
            await store.append("s", 2, [ev(3)], conn=early)
        await tx.rollback()
    versions = [(e.stream_id, e.version) for e in await store.read_all()]
    assert versions == [("s", 1), ("s", 2)]


async def test_concurrent_writers_reader_sees_every_event_exactly_once(store, pool):
    """8 writers with random in-transaction delays; a reader polls throughout."""
    written: list[uuid.UUID] = []
    done = asyncio.Event()

    async def writer(w: int) -> None:
        for i in range(40):
            async with pool.acquire() as conn:
                async with conn.transaction():
                    stored = await store.append(f"w{w}-{i % 5}", None,
                                                [ev(i), ev(i)], conn=conn)
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
