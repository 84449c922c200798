"""SQL for users and refresh tokens."""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import asyncpg

USER_COLUMNS = ("user_id, username, name_zh, role, division, password_hash, failed_attempts, "
                "locked_until, active")


def public_user(row: asyncpg.Record | dict[str, Any]) -> dict[str, Any]:
    """The user as clients see it (no hash, no counters)."""
    return {"user_id": str(row["user_id"]), "username": row["username"],
            "name_zh": row["name_zh"], "role": row["role"], "division": row["division"],
            "active": row["active"]}


async def by_username(conn: asyncpg.Connection, schema: str, username: str,
                      for_update: bool = False) -> asyncpg.Record | None:
    lock = " FOR UPDATE" if for_update else ""
    return await conn.fetchrow(
        f"SELECT {USER_COLUMNS} FROM {schema}.users WHERE username = $1{lock}", username)


async def by_id(conn: asyncpg.Connection, schema: str, user_id: str | uuid.UUID
                ) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"SELECT {USER_COLUMNS} FROM {schema}.users WHERE user_id = $1", uuid.UUID(str(user_id)))


async def insert_user(conn: asyncpg.Connection, schema: str, user_id: uuid.UUID, username: str,
                      name_zh: str, role: str, division: str, password_hash: str,
                      created_by: uuid.UUID | None) -> asyncpg.Record | None:
    """Insert; None when the username is taken (no exception, so a transaction survives)."""
    return await conn.fetchrow(
        f"INSERT INTO {schema}.users (user_id, username, name_zh, role, division, password_hash,"
        f" created_by) VALUES ($1,$2,$3,$4,$5,$6,$7) ON CONFLICT (username) DO NOTHING "
        f"RETURNING {USER_COLUMNS}", user_id, username, name_zh, role, division, password_hash,
        created_by)


async def list_users(conn: asyncpg.Connection, schema: str, prefix: str, limit: int = 500
                     ) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"SELECT {USER_COLUMNS} FROM {schema}.users WHERE division LIKE $1 || '%' "
        f"ORDER BY division, username LIMIT $2", prefix, limit)


async def insert_refresh(conn: asyncpg.Connection, schema: str, token_hash: str,
                         user_id: uuid.UUID, family_id: uuid.UUID, expires_at: datetime) -> None:
    await conn.execute(
        f"INSERT INTO {schema}.refresh_tokens (token_hash, user_id, family_id, expires_at) "
        f"VALUES ($1, $2, $3, $4)", token_hash, user_id, family_id, expires_at)


async def take_refresh(conn: asyncpg.Connection, schema: str, token_hash: str
                       ) -> asyncpg.Record | None:
    """The refresh token row, locked for the rotation in the caller's transaction."""
    return await conn.fetchrow(
        f"SELECT token_hash, user_id, family_id, expires_at, used_at, revoked_at "
        f"FROM {schema}.refresh_tokens WHERE token_hash = $1 FOR UPDATE", token_hash)


async def mark_used(conn: asyncpg.Connection, schema: str, token_hash: str) -> None:
    await conn.execute(f"UPDATE {schema}.refresh_tokens SET used_at = now() "
                       f"WHERE token_hash = $1", token_hash)


async def revoke_family(conn: asyncpg.Connection, schema: str, family_id: uuid.UUID) -> None:
    await conn.execute(f"UPDATE {schema}.refresh_tokens SET revoked_at = now() "
                       f"WHERE family_id = $1 AND revoked_at IS NULL", family_id)


async def revoked_families(conn: asyncpg.Connection | asyncpg.Pool, schema: str,
                           within_seconds: int) -> list[str]:
    """Families revoked within the last `within_seconds` (older: no live access token)."""
    rows = await conn.fetch(
        f"SELECT DISTINCT family_id FROM {schema}.refresh_tokens WHERE revoked_at IS NOT NULL "
        f"AND revoked_at > now() - make_interval(secs => $1)", float(within_seconds))
    return [str(r["family_id"]) for r in rows]
