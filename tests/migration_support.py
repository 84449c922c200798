"""What the services' migration tests share: a pool, throw-away schemas, a schema's shape."""
import uuid

import asyncpg
import pytest


@pytest.fixture
async def pool(infra):
    pool = await asyncpg.create_pool(infra.database_url, min_size=1, max_size=4)
    yield pool
    await pool.close()


@pytest.fixture
async def schemas(pool):
    """Fresh schema names, dropped after the test."""
    made: list[str] = []
    yield lambda: made.append(f"m_{uuid.uuid4().hex[:10]}") or made[-1]
    async with pool.acquire() as conn:
        for s in made:
            await conn.execute(f"DROP SCHEMA IF EXISTS {s} CASCADE")


async def shape(conn, s: str) -> tuple:
    """Columns (type, nullability, default), indexes and constraints of the schema's tables."""
    columns = await conn.fetch(
        "SELECT table_name, column_name, data_type, is_nullable, column_default "
        "FROM information_schema.columns WHERE table_schema = $1 "
        "AND table_name <> 'schema_migrations' ORDER BY 1, 2", s)
    indexes = await conn.fetch(
        "SELECT indexname, replace(indexdef, $1 || '.', '') FROM pg_indexes "
        "WHERE schemaname = $1 AND tablename <> 'schema_migrations' ORDER BY 1", s)
    constraints = await conn.fetch(
        "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE connamespace = $1::regnamespace AND conrelid::regclass::text NOT LIKE "
        "'%schema_migrations' ORDER BY 1, 2", s)
    return ([tuple(r) for r in columns], [tuple(r) for r in indexes],
            [(t.split(".")[-1], n, d) for t, n, d in constraints])
