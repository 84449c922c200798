import sys
import uuid
from pathlib import Path

import asyncpg
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # pop_support


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


@pytest.fixture(scope="module")
async def pop(infra):
    """The whole system through the gateway (real PostgreSQL and broker), with a master key."""
    from pop_support import population_stack

    async with population_stack(infra) as s:
        yield s
