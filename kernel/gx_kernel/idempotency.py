"""Safe retries of commands: the first result of a key is stored and replayed.

Used inside the command's own transaction, so the stored response and the command's effects
commit together: a retry after a crash either finds both or neither.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

from gx_kernel.errors import AppError


def ddl(schema: str) -> str:
    return (f"CREATE TABLE IF NOT EXISTS {schema}.idempotency_keys ("
            f"owner text NOT NULL, key text NOT NULL, request_hash text NOT NULL, "
            f"status integer NOT NULL, response jsonb NOT NULL, "
            f"created_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (owner, key))")


def request_hash(payload: Any) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str,
                                     ensure_ascii=False).encode()).hexdigest()


async def run_once(conn: asyncpg.Connection, schema: str, owner: str, key: str | None,
                   payload: Any, action: Callable[[], Awaitable[tuple[int, Any]]]
                   ) -> tuple[int, Any]:
    """Run `action` (inside the caller's transaction) once per (owner, key)."""
    if not key:
        return await action()
    digest = request_hash(payload)
    # Serialise concurrent retries of one key; the loser then finds the stored response.
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"{schema}:{owner}:{key}")
    row = await conn.fetchrow(
        f"SELECT request_hash, status, response FROM {schema}.idempotency_keys "
        f"WHERE owner = $1 AND key = $2", owner, key)
    if row is not None:
        if row["request_hash"] != digest:
            raise AppError(422, "idempotency_key_reused",
                           "同一幂等键（Idempotency-Key）已用于不同的请求内容", field="Idempotency-Key")
        return row["status"], json.loads(row["response"])
    status, response = await action()
    await conn.execute(
        f"INSERT INTO {schema}.idempotency_keys (owner, key, request_hash, status, response) "
        f"VALUES ($1, $2, $3, $4, $5)", owner, key, digest, status,
        json.dumps(response, default=str, ensure_ascii=False))
    return status, response
