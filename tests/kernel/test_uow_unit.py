"""Unit of work on the in-memory store (FakeUnitOfWork): no database, no broker."""
from dataclasses import dataclass, field

import pytest

from gx_kernel.errors import AppError
from gx_kernel.eventstore import ConcurrencyError, NewEvent
from gx_kernel.idempotency import request_hash
from gx_kernel.memstore import InMemoryEventStore
from gx_kernel.projections import ProjectionRegistry
from gx_kernel.uow import AfterCommit, FakeUnitOfWork, IdempotencyKey, UnitOfWork


class Spy:
    """Wraps notify_committed: what was committed and open each time the relay is woken."""

    def __init__(self, store: InMemoryEventStore):
        self.calls: list[tuple[int, int]] = []
        wake = store.notify_committed

        def notify() -> None:
            self.calls.append((len(store.committed()), store.open_transactions))
            wake()
        store.notify_committed = notify


def counting_projection(seen: list):
    registry = ProjectionRegistry()

    @registry.on("thing.happened")
    async def project(conn, event):
        seen.append((event.data["n"], conn.closed))  # runs inside the open transaction

    return registry


async def test_commit_appends_projects_then_wakes_the_relay():
    store, seen = InMemoryEventStore(), []
    spy = Spy(store)
    async with FakeUnitOfWork(store, projections=counting_projection(seen)) as uow:
        uow.collect("s-1", 0, [NewEvent("thing.happened", {"n": 1}),
                               NewEvent("thing.happened", {"n": 2})], {"actor": "u1"})
        uow.collect("s-2", 0, [NewEvent("thing.noted", {"n": 3})])
        assert store.committed() == [] and spy.calls == []
    assert [e.data["n"] for e in store.committed()] == [1, 2, 3]
    assert store.committed()[0].metadata["actor"] == "u1"
    assert seen == [(1, False), (2, False)]  # only the projected type, in the transaction
    assert spy.calls == [(3, 0)]  # once, after the commit, nothing left open
    assert uow.committed and [e.version for e in uow.stored] == [1, 2, 1]


async def test_exception_rolls_back_and_wakes_nobody():
    store, seen = InMemoryEventStore(), []
    spy = Spy(store)
    with pytest.raises(RuntimeError):
        async with FakeUnitOfWork(store, projections=counting_projection(seen)) as uow:
            uow.collect("s-1", 0, [NewEvent("thing.happened", {"n": 1})])
            await uow.flush()  # appended and projected inside the transaction...
            assert seen == [(1, False)]
            raise RuntimeError("boom")  # ...then the command fails
    assert store.committed() == [] and spy.calls == [] and uow.rolled_back
    assert store.open_transactions == 0


async def test_stale_expected_version_rolls_back_the_whole_unit():
    store = InMemoryEventStore()
    await store.append("s-1", 0, [NewEvent("thing.happened", {"n": 0})])
    spy = Spy(store)
    with pytest.raises(ConcurrencyError):
        async with FakeUnitOfWork(store) as uow:
            uow.collect("s-2", 0, [NewEvent("thing.happened", {"n": 1})])
            uow.collect("s-1", 0, [NewEvent("thing.happened", {"n": 2})])  # stale
    assert [e.stream_id for e in store.committed()] == ["s-1"] and spy.calls == []


async def test_retry_with_the_same_key_gets_the_stored_answer_and_raises_nothing():
    store, responses = InMemoryEventStore(), {}
    key = IdempotencyKey("u1", "k-1", {"op": "publish", "n": 1})

    async def command():
        async with FakeUnitOfWork(store, idempotency=key, responses=responses) as uow:
            if uow.replayed:
                return uow.replayed
            uow.collect("s-1", 0, [NewEvent("thing.happened", {"n": 1})])
            return uow.respond(201, {"id": "s-1"})

    assert await command() == (201, {"id": "s-1"})
    assert await command() == (201, {"id": "s-1"})
    assert len(store.committed()) == 1
    with pytest.raises(AppError) as info:
        async with FakeUnitOfWork(store, responses=responses,
                                  idempotency=IdempotencyKey("u1", "k-1", {"op": "other"})):
            pass
    assert info.value.code == "idempotency_key_reused" and info.value.status == 422


async def test_a_replayed_command_may_not_raise_events():
    key = IdempotencyKey("u1", "k", {})
    responses = {("u1", "k"): (request_hash({}), 200, {})}
    with pytest.raises(RuntimeError, match="replayed"):
        async with FakeUnitOfWork(idempotency=key, responses=responses) as uow:
            uow.collect("s-1", 0, [NewEvent("thing.happened", {})])


@dataclass
class Counter:
    """A tiny aggregate raising events."""

    stream_id: str
    version: int = 0
    total: int = 0
    pending_events: list = field(default_factory=list)

    def add(self, n: int) -> None:
        self.total += n
        self.pending_events.append(NewEvent("counter.added", {"n": n}))


async def test_aggregate_pending_events_are_appended_at_its_loaded_version():
    store = InMemoryEventStore()
    counter = Counter("counter-1")
    async with FakeUnitOfWork(store) as uow:
        counter.add(2)
        counter.add(3)
        uow.add(counter, {"actor": "u1"})
    assert counter.pending_events == [] and counter.version == 2
    async with FakeUnitOfWork(store) as uow:
        counter.add(4)
        uow.add(counter)
    assert [e.version for e in await store.read_stream("counter-1")] == [1, 2, 3]
    stale = Counter("counter-1", version=1)
    stale.add(9)
    with pytest.raises(ConcurrencyError):
        async with FakeUnitOfWork(store) as uow:
            uow.add(stale)


async def test_in_an_outer_transaction_the_relay_wakes_after_its_commit():
    store = InMemoryEventStore()
    spy = Spy(store)
    hooks = AfterCommit()
    with hooks.active():
        async with store.transaction() as tx:  # as the consumer's transaction
            async with UnitOfWork.for_connection(tx, store) as uow:
                uow.collect("s-1", 0, [NewEvent("thing.happened", {"n": 1})])
            assert spy.calls == [] and len(await store.read_stream("s-1", conn=tx)) == 1
    assert spy.calls == [] and len(store.committed()) == 1
    hooks.run()
    assert spy.calls == [(1, 0)]


async def test_outer_transaction_without_a_commit_hook_is_refused():
    store = InMemoryEventStore()
    with pytest.raises(RuntimeError, match="AfterCommit"):
        async with store.transaction() as tx:
            async with UnitOfWork.for_connection(tx, store) as uow:
                uow.collect("s-1", 0, [NewEvent("thing.happened", {"n": 1})])
    assert store.committed() == []


async def test_collect_outside_the_block_is_an_error():
    with pytest.raises(RuntimeError, match="not open"):
        FakeUnitOfWork().collect("s-1", 0, [])
