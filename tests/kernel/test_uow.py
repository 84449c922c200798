"""Unit of work on real PostgreSQL: one transaction for events, projection and idempotency."""
import asyncio

import pytest

from gx_kernel.errors import AppError
from gx_kernel.eventstore import NewEvent
from gx_kernel.idempotency import ddl as idempotency_ddl
from gx_kernel.projections import ProjectionRegistry
from gx_kernel.uow import AfterCommit, IdempotencyKey, UnitOfWork


@pytest.fixture
async def read_model(pool, schema, store):
    async with pool.acquire() as conn:
        await conn.execute(idempotency_ddl(schema))
        await conn.execute(f"CREATE TABLE {schema}.things (stream_id text, n int)")
    registry = ProjectionRegistry()

    @registry.on("thing.happened")
    async def project(conn, event):
        if event.data["n"] < 0:
            raise ValueError("negative")
        await conn.execute(f"INSERT INTO {schema}.things VALUES ($1, $2)", event.stream_id,
                           event.data["n"])

    return registry


async def things(pool, schema) -> list[int]:
    async with pool.acquire() as conn:
        return [r["n"] for r in await conn.fetch(f"SELECT n FROM {schema}.things ORDER BY n")]


def count_wakeups(store) -> list:
    calls = []
    wake = store.notify_committed
    store.notify_committed = lambda: (calls.append(1), wake())
    return calls


async def test_events_projection_and_answer_commit_together(pool, schema, store, read_model):
    calls = count_wakeups(store)
    key = IdempotencyKey("u1", "k-1", {"n": 1})
    async with UnitOfWork(store, projections=read_model, idempotency=key) as uow:
        assert uow.replayed is None
        uow.collect("s-1", 0, [NewEvent("thing.happened", {"n": 1})], {"actor": "u1"})
        uow.respond(201, {"ok": True})
    assert [e.stream_id for e in await store.read_all()] == ["s-1"]
    assert await things(pool, schema) == [1] and calls == [1]
    async with UnitOfWork(store, projections=read_model, idempotency=key) as retry:
        assert retry.replayed == (201, {"ok": True})
    assert len(await store.read_all()) == 1 and calls == [1]  # nothing new: nobody woken


async def test_a_failing_projection_rolls_back_the_events(pool, schema, store, read_model):
    calls = count_wakeups(store)
    key = IdempotencyKey("u1", "k-2", {"n": -1})
    with pytest.raises(ValueError):
        async with UnitOfWork(store, projections=read_model, idempotency=key) as uow:
            uow.collect("s-1", 0, [NewEvent("thing.happened", {"n": -1})])
            uow.respond(201, {"ok": True})
    assert await store.read_all() == [] and await things(pool, schema) == [] and calls == []
    async with pool.acquire() as conn:
        assert await conn.fetchval(f"SELECT count(*) FROM {schema}.idempotency_keys") == 0
    async with UnitOfWork(store, idempotency=key) as again:  # the key is free again
        assert again.replayed is None


async def test_inside_an_outer_transaction(pool, schema, store, read_model):
    calls = count_wakeups(store)
    hooks = AfterCommit()
    async with pool.acquire() as conn:
        with hooks.active():
            async with conn.transaction():
                async with UnitOfWork.for_connection(conn, store, projections=read_model) as u:
                    u.collect("s-1", 0, [NewEvent("thing.happened", {"n": 7})])
                assert calls == [] and await store.read_all() == []  # not committed yet
    assert await things(pool, schema) == [7] and calls == []
    hooks.run()
    assert calls == [1]


async def race(store, read_model, key: IdempotencyKey, first_fails: bool):
    """Two tries of one key, the second starting while the first is still open."""
    first_in, release = asyncio.Event(), asyncio.Event()

    async def first():
        async with UnitOfWork(store, projections=read_model, idempotency=key) as uow:
            assert uow.replayed is None
            first_in.set()
            await release.wait()
            if first_fails:
                raise RuntimeError("first try fails")
            uow.collect(f"s-{key.key}", 0, [NewEvent("thing.happened", {"n": 1})])
            return uow.respond(201, {"try": 1})

    async def second():
        await first_in.wait()
        async with UnitOfWork(store, projections=read_model, idempotency=key) as uow:
            if uow.replayed:
                return uow.replayed
            uow.collect(f"s-{key.key}", 0, [NewEvent("thing.happened", {"n": 2})])
            return uow.respond(201, {"try": 2})

    one, two = asyncio.create_task(first()), asyncio.create_task(second())
    await first_in.wait()
    await asyncio.sleep(0.2)
    assert not two.done()  # waits for the first try's transaction
    release.set()
    await asyncio.gather(one, return_exceptions=True)
    return await two


async def test_concurrent_tries_of_one_key_run_once(pool, schema, store, read_model):
    """The second try waits for the first (the key's row is claimed by insert) and answers
    with its stored response; after a first try that rolled back, the second one runs."""
    assert await race(store, read_model, IdempotencyKey("u1", "k-3", {}), False) == (
        201, {"try": 1})
    assert await race(store, read_model, IdempotencyKey("u1", "k-4", {}), True) == (
        201, {"try": 2})
    assert await things(pool, schema) == [1, 2]


async def test_a_command_without_answer_leaves_its_key_free(pool, schema, store, read_model):
    key = IdempotencyKey("u1", "k-5", {"n": 5})
    async with UnitOfWork(store, idempotency=key) as uow:
        assert uow.replayed is None  # decides nothing, answers nothing
    async with pool.acquire() as conn:
        assert await conn.fetchval(f"SELECT count(*) FROM {schema}.idempotency_keys") == 0
    async with UnitOfWork(store, idempotency=key) as again:
        assert again.replayed is None


async def test_a_reused_key_with_another_request_is_refused(pool, schema, store, read_model):
    async with UnitOfWork(store, idempotency=IdempotencyKey("u1", "k-6", {"n": 6})) as uow:
        uow.respond(200, {"n": 6})
    with pytest.raises(AppError) as refused:
        async with UnitOfWork(store, idempotency=IdempotencyKey("u1", "k-6", {"n": 7})):
            pass
    assert refused.value.code == "idempotency_key_reused"
    async with UnitOfWork(store, idempotency=IdempotencyKey("u2", "k-6", {"n": 7})) as other:
        assert other.replayed is None  # keys are per owner
