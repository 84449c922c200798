"""SQL for subscribers' granted topics (订阅授权)."""
from __future__ import annotations

import uuid

import asyncpg


async def grant(conn: asyncpg.Connection, schema: str, user_id: uuid.UUID, topics: list[str],
                granted_by: uuid.UUID) -> list[str]:
    """Grant; returns the topics that were not granted before."""
    rows = await conn.fetch(
        f"INSERT INTO {schema}.subscriber_topics (user_id, topic, granted_by) "
        f"SELECT $1, t, $3 FROM unnest($2::text[]) AS t ON CONFLICT DO NOTHING RETURNING topic",
        user_id, topics, granted_by)
    return [r["topic"] for r in rows]


async def revoke(conn: asyncpg.Connection, schema: str, user_id: uuid.UUID, topics: list[str]
                 ) -> list[str]:
    rows = await conn.fetch(
        f"DELETE FROM {schema}.subscriber_topics WHERE user_id = $1 AND topic = ANY($2::text[]) "
        f"RETURNING topic", user_id, topics)
    return [r["topic"] for r in rows]


async def topics_of(conn: asyncpg.Connection | asyncpg.Pool, schema: str, user_id: uuid.UUID
                    ) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"SELECT topic, granted_at FROM {schema}.subscriber_topics WHERE user_id = $1 "
        f"ORDER BY topic", user_id)
