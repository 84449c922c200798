"""SQL for the shared token buckets (共享令牌桶) of the request rate limits."""
from __future__ import annotations

import asyncpg

Conn = asyncpg.Connection | asyncpg.Pool


async def lease(conn: Conn, schema: str, key: str, rate: float, burst: int, most: int
                ) -> tuple[int, float]:
    """Refill `key`'s bucket for the time since its last use, take up to `most` whole tokens
    from it; (tokens granted, tokens left). One statement: replicas never race on a bucket."""
    refill = "LEAST($3::float8, b.tokens + extract(epoch FROM now() - b.at) * $2::float8)"
    row = await conn.fetchrow(
        f"INSERT INTO {schema}.rate_buckets AS b (key, tokens, granted, at) "
        f"VALUES ($1, $3::float8 - LEAST($4::int, $3::int), LEAST($4::int, $3::int), now()) "
        f"ON CONFLICT (key) DO UPDATE SET "
        f"granted = LEAST($4::int, floor({refill})::int), "
        f"tokens = {refill} - LEAST($4::int, floor({refill})::int), at = now() "
        f"RETURNING granted, tokens", key, rate, burst, most)
    return int(row["granted"]), float(row["tokens"])


async def forget_full(conn: Conn, schema: str, rate: float, burst: int) -> None:
    """Drop buckets that have refilled (they carry no state worth keeping: bounds the table)."""
    await conn.execute(
        f"DELETE FROM {schema}.rate_buckets WHERE "
        f"tokens + extract(epoch FROM now() - at) * $1::float8 >= $2::float8", rate, burst)
