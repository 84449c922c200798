"""SQL for login throttling (登录限速)."""
from __future__ import annotations

import asyncpg

Conn = asyncpg.Connection | asyncpg.Pool


async def wait_seconds(conn: Conn, schema: str, keys: list[str]) -> int:
    """Whole seconds until every one of `keys` may try again (0: now)."""
    left = await conn.fetchval(
        f"SELECT ceil(extract(epoch FROM max(blocked_until) - now())) FROM {schema}.login_throttle"
        f" WHERE key = ANY($1::text[]) AND blocked_until > now()", keys)
    return max(1, int(left)) if left is not None else 0


async def count_failure(conn: Conn, schema: str, key: str, window_seconds: int) -> int:
    """One more wrong password for `key`; its failures within the window (a quiet window
    starts the count again)."""
    return await conn.fetchval(
        f"INSERT INTO {schema}.login_throttle AS t (key, failures, last_failure) "
        f"VALUES ($1, 1, now()) ON CONFLICT (key) DO UPDATE SET "
        f"failures = CASE WHEN t.last_failure < now() - make_interval(secs => $2) THEN 1 "
        f"ELSE t.failures + 1 END, last_failure = now() RETURNING failures",
        key, float(window_seconds))


async def hold_back(conn: Conn, schema: str, key: str, seconds: int) -> None:
    await conn.execute(f"UPDATE {schema}.login_throttle SET blocked_until = now() + "
                       f"make_interval(secs => $2) WHERE key = $1", key, float(seconds))


async def clear(conn: Conn, schema: str, keys: list[str]) -> int:
    """Forget `keys`; how many were held back at the time."""
    rows = await conn.fetch(f"DELETE FROM {schema}.login_throttle WHERE key = ANY($1::text[]) "
                            f"RETURNING blocked_until > now() AS held", keys)
    return sum(1 for r in rows if r["held"])


async def forget_quiet(conn: Conn, schema: str, window_seconds: int) -> None:
    """Drop keys with no failure in the window and no delay running (bounds the table)."""
    await conn.execute(
        f"DELETE FROM {schema}.login_throttle WHERE last_failure < now() - "
        f"make_interval(secs => $1) AND (blocked_until IS NULL OR blocked_until < now())",
        float(window_seconds))
