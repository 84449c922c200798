"""SQL for the gateway's idempotency records: (owner, key) -> pending | done(first response).

The gateway cannot wrap a remote call in one database transaction, so a record is first
claimed as 'pending' (committed at once), the call is made, then the record becomes 'done'.
"""
from __future__ import annotations

from dataclasses import dataclass

import asyncpg


@dataclass
class Stored:
    request_hash: str
    state: str
    status: int | None
    body: bytes | None
    content_type: str | None


async def claim(pool: asyncpg.Pool, schema: str, owner: str, key: str, request_hash: str,
                stale_seconds: int) -> Stored | None:
    """Claim the key for this attempt: None if claimed, else the existing record.

    A 'pending' record older than `stale_seconds` belongs to an attempt that died (gateway
    crash); it is taken over, so a key is never stuck forever.
    """
    row = await pool.fetchrow(
        f"""INSERT INTO {schema}.gw_idempotency (owner, key, request_hash, state)
            VALUES ($1, $2, $3, 'pending')
            ON CONFLICT (owner, key) DO UPDATE SET updated_at = now(), created_at = now()
              WHERE {schema}.gw_idempotency.state = 'pending'
                AND {schema}.gw_idempotency.request_hash = EXCLUDED.request_hash
                AND {schema}.gw_idempotency.updated_at < now() - make_interval(secs => $4)
            RETURNING owner""", owner, key, request_hash, float(stale_seconds))
    if row is not None:
        return None
    return await load(pool, schema, owner, key)


async def load(pool: asyncpg.Pool, schema: str, owner: str, key: str) -> Stored | None:
    row = await pool.fetchrow(
        f"SELECT request_hash, state, status, body, content_type FROM {schema}.gw_idempotency "
        f"WHERE owner = $1 AND key = $2", owner, key)
    return Stored(**dict(row)) if row else None


async def complete(pool: asyncpg.Pool, schema: str, owner: str, key: str, status: int,
                   body: bytes, content_type: str | None) -> None:
    await pool.execute(
        f"UPDATE {schema}.gw_idempotency SET state = 'done', status = $3, body = $4, "
        f"content_type = $5, updated_at = now() WHERE owner = $1 AND key = $2",
        owner, key, status, body, content_type)


async def release(pool: asyncpg.Pool, schema: str, owner: str, key: str) -> None:
    """Forget a pending claim whose call failed without an answer, so a retry can run it."""
    await pool.execute(f"DELETE FROM {schema}.gw_idempotency WHERE owner = $1 AND key = $2 "
                       f"AND state = 'pending'", owner, key)
