"""SQL for enrolled devices (已登记的手机)."""
from __future__ import annotations

import uuid
from typing import Any

import asyncpg

COLUMNS = "device_id, user_id, label, public_key, enrolled_by, enrolled_at, revoked_at"


def public_device(row: asyncpg.Record) -> dict[str, Any]:
    return {"device_id": str(row["device_id"]), "user_id": str(row["user_id"]),
            "label": row["label"], "enrolled_at": row["enrolled_at"].isoformat(),
            "revoked_at": row["revoked_at"].isoformat() if row["revoked_at"] else None}


async def insert(conn: asyncpg.Connection, schema: str, device_id: uuid.UUID,
                 user_id: uuid.UUID, label: str, public_key: bytes, enrolled_by: uuid.UUID
                 ) -> asyncpg.Record:
    return await conn.fetchrow(
        f"INSERT INTO {schema}.devices (device_id, user_id, label, public_key, enrolled_by) "
        f"VALUES ($1,$2,$3,$4,$5) RETURNING {COLUMNS}", device_id, user_id, label, public_key,
        enrolled_by)


async def get(conn: asyncpg.Connection | asyncpg.Pool, schema: str, device_id: str
              ) -> asyncpg.Record | None:
    try:
        ident = uuid.UUID(device_id)
    except ValueError:
        return None
    return await conn.fetchrow(f"SELECT {COLUMNS} FROM {schema}.devices WHERE device_id = $1",
                               ident)


async def revoke(conn: asyncpg.Connection, schema: str, device_id: uuid.UUID,
                 revoked_by: uuid.UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"UPDATE {schema}.devices SET revoked_at = now(), revoked_by = $2 "
        f"WHERE device_id = $1 AND revoked_at IS NULL RETURNING {COLUMNS}", device_id, revoked_by)
