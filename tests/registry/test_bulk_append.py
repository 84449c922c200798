"""The import's bulk append of many new streams keeps the event store's rules (PostgreSQL)."""
import uuid

import asyncpg
import pytest

from gx_kernel.errors import EventTooLarge
from gx_kernel.eventstore import ConcurrencyError, EventStore, NewEvent
from gx_kernel.migrations import run_migrations

from gx_registry.adapters.bulk import append_new_streams

pytestmark = pytest.mark.integration


async def test_new_streams_in_one_statement_and_nothing_on_a_conflict(infra):
    schema = f"t{uuid.uuid4().hex[:8]}_bulk"
    pool = await asyncpg.create_pool(infra.database_url, min_size=1, max_size=2)
    try:
        await run_migrations(pool, schema, [])
        store = EventStore(pool, schema, max_event_bytes=4096)
        await store.setup()
        streams = [(f"unit-{uuid.uuid4()}", [NewEvent("registry.unit.registered", {"i": i}),
                                             NewEvent("registry.unit.classified", {"i": i})])
                   for i in range(50)]
        async with pool.acquire() as conn, conn.transaction():
            stored = await append_new_streams(conn, store, streams, {"actor": "t"})
        assert len(stored) == 100
        assert [e.position for e in stored] == sorted(e.position for e in stored)
        again = await store.read_stream(streams[7][0])
        assert [(e.version, e.data) for e in again] == [(1, {"i": 7}), (2, {"i": 7})]
        assert again[0].metadata["actor"] == "t" and again[0].metadata["correlation_id"]
        assert await store.stream_version(streams[7][0]) == 2
        # a stream that exists already: the whole batch fails, nothing is written
        clash = [(f"unit-{uuid.uuid4()}", [NewEvent("registry.unit.registered", {})]), streams[0]]
        with pytest.raises(ConcurrencyError):
            async with pool.acquire() as conn, conn.transaction():
                await append_new_streams(conn, store, clash, {})
        assert await store.read_stream(clash[0][0]) == []
        with pytest.raises(EventTooLarge):
            async with pool.acquire() as conn, conn.transaction():
                await append_new_streams(conn, store, [(f"unit-{uuid.uuid4()}", [
                    NewEvent("registry.unit.registered", {"x": "长" * 5000})])], {})
        # the same order as the kernel's readers see it
        everything = await store.read_all(limit=1000)
        assert [e.id for e in everything] == [e.id for e in stored]
    finally:
        async with pool.acquire() as conn:
            await conn.execute(f"DROP SCHEMA {schema} CASCADE")
        await pool.close()
