"""Kernel fixtures: a pool on the session database and a fresh schema per test."""
import uuid

import asyncpg
import pytest

from gx_kernel.eventstore import EventStore


@pytest.fixture(scope="session")
async def pool(infra):
    pool = await asyncpg.create_pool(infra.database_url, min_size=2, max_size=20)
    yield pool
    await pool.close()


@pytest.fixture
async def schema(pool):
    name = f"k_{uuid.uuid4().hex[:10]}"
    yield name
    async with pool.acquire() as conn:
        await conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")


@pytest.fixture
async def store(pool, schema):
    s = EventStore(pool, schema)
    await s.setup()
    return s


@pytest.fixture
def prefix():
    return f"t{uuid.uuid4().hex[:8]}."
