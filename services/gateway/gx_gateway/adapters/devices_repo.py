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


async def in_jurisdiction(conn: asyncpg.Connection | asyncpg.Pool, schema: str, scope_prefix: str
                          ) -> list[asyncpg.Record]:
    """Devices whose owner's division starts with `scope_prefix`, newest first."""
    return await conn.fetch(
        f"SELECT d.device_id, d.user_id, d.label, d.public_key, d.enrolled_at, d.revoked_at, "
        f"u.username, u.name_zh, u.role, u.division FROM {schema}.devices d "
        f"JOIN {schema}.users u USING (user_id) WHERE u.division LIKE $1 || '%' "
        f"ORDER BY d.revoked_at IS NOT NULL, d.enrolled_at DESC LIMIT 500", scope_prefix)


async def of_user(conn: asyncpg.Connection | asyncpg.Pool, schema: str, user_id: str
                  ) -> list[asyncpg.Record]:
    return await conn.fetch(f"SELECT {COLUMNS} FROM {schema}.devices WHERE user_id = $1 "
                            f"ORDER BY enrolled_at DESC", uuid.UUID(user_id))


# -- enrolment requests (登记申请) -----------------------------------------------------------

REQUEST_COLUMNS = ("request_id, user_id, label, public_key, status, requested_at, decided_at, "
                   "reason, device_id")


def public_request(row: asyncpg.Record) -> dict[str, Any]:
    out = {"request_id": str(row["request_id"]), "user_id": str(row["user_id"]),
           "label": row["label"], "status": row["status"],
           "requested_at": row["requested_at"].isoformat(),
           "decided_at": row["decided_at"].isoformat() if row["decided_at"] else None,
           "reason": row["reason"],
           "device_id": str(row["device_id"]) if row["device_id"] else None}
    for extra in ("username", "name_zh", "role", "division"):
        if extra in row:
            out[extra] = row[extra]
    return out


async def insert_request(conn: asyncpg.Connection, schema: str, request_id: uuid.UUID,
                         user_id: uuid.UUID, label: str, public_key: bytes) -> asyncpg.Record:
    # One open request per person: a new one (e.g. after clearing the browser) replaces it.
    await conn.execute(f"UPDATE {schema}.device_requests SET status = 'withdrawn', "
                       f"decided_at = now() WHERE user_id = $1 AND status = 'pending'", user_id)
    return await conn.fetchrow(
        f"INSERT INTO {schema}.device_requests (request_id, user_id, label, public_key, status) "
        f"VALUES ($1,$2,$3,$4,'pending') RETURNING {REQUEST_COLUMNS}",
        request_id, user_id, label, public_key)


async def get_request(conn: asyncpg.Connection, schema: str, request_id: str
                      ) -> asyncpg.Record | None:
    try:
        ident = uuid.UUID(request_id)
    except ValueError:
        return None
    return await conn.fetchrow(f"SELECT {REQUEST_COLUMNS} FROM {schema}.device_requests "
                               f"WHERE request_id = $1 FOR UPDATE", ident)


async def decide_request(conn: asyncpg.Connection, schema: str, request_id: uuid.UUID,
                         status: str, decided_by: uuid.UUID, reason: str | None,
                         device_id: uuid.UUID | None) -> asyncpg.Record:
    return await conn.fetchrow(
        f"UPDATE {schema}.device_requests SET status = $2, decided_by = $3, decided_at = now(), "
        f"reason = $4, device_id = $5 WHERE request_id = $1 RETURNING {REQUEST_COLUMNS}",
        request_id, status, decided_by, reason, device_id)


async def requests_in_jurisdiction(conn: asyncpg.Connection | asyncpg.Pool, schema: str,
                                   scope_prefix: str, status: str) -> list[asyncpg.Record]:
    cols = ", ".join(f"r.{c.strip()}" for c in REQUEST_COLUMNS.split(","))
    return await conn.fetch(
        f"SELECT {cols}, u.username, u.name_zh, u.role, u.division FROM {schema}.device_requests r "
        f"JOIN {schema}.users u USING (user_id) WHERE u.division LIKE $1 || '%' "
        f"AND r.status = $2 ORDER BY r.requested_at LIMIT 500", scope_prefix, status)


async def requests_of_user(conn: asyncpg.Connection | asyncpg.Pool, schema: str, user_id: str
                           ) -> list[asyncpg.Record]:
    return await conn.fetch(f"SELECT {REQUEST_COLUMNS} FROM {schema}.device_requests "
                            f"WHERE user_id = $1 ORDER BY requested_at DESC LIMIT 20",
                            uuid.UUID(user_id))
