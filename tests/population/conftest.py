import uuid

import asyncpg
import pytest


@pytest.fixture(scope="module")
async def pg_pool(infra):
    pool = await asyncpg.create_pool(infra.database_url, min_size=1, max_size=4)
    yield pool
    await pool.close()


@pytest.fixture
async def pg_schema(pg_pool):
    """A schema of its own per test, dropped afterwards."""
    name = f"pop_{uuid.uuid4().hex[:10]}"
    await pg_pool.execute(f"CREATE SCHEMA {name}")
    yield name
    await pg_pool.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")
