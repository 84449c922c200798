"""Rebuild the projections from the event store (drop rows, replay every case stream)."""
from __future__ import annotations

import json

import asyncpg

from gx_kernel.eventstore import StoredEvent

from gx_workflow.application.projection import PROJECTION_TABLES, project
from gx_workflow.domain.case import ReviewCase


async def rebuild_projections(pool: asyncpg.Pool, schema: str, batch_streams: int = 500) -> int:
    """Replace `cases` and `case_steps` with a replay of all case events; returns cases rebuilt.

    One transaction: readers see the old projections until the new ones commit.
    """
    n = 0
    async with pool.acquire() as conn:
        async with conn.transaction():
            await conn.execute(f"LOCK TABLE {schema}.cases IN EXCLUSIVE MODE")
            await conn.execute("TRUNCATE " + ", ".join(f"{schema}.{t}" for t in PROJECTION_TABLES))
            cur = conn.cursor(
                f"SELECT id, stream_id, version, position, tx_id, type, schema_version, data, "
                f"metadata, recorded_at FROM {schema}.events WHERE stream_id LIKE 'case-%' "
                f"ORDER BY stream_id, version", prefetch=2000)
            stream: list[StoredEvent] = []
            async for r in cur:
                e = StoredEvent(r["id"], r["stream_id"], r["version"], r["position"], r["tx_id"],
                                r["type"], r["schema_version"], json.loads(r["data"]),
                                json.loads(r["metadata"]), r["recorded_at"])
                if stream and stream[0].stream_id != e.stream_id:
                    await _flush(conn, schema, stream)
                    n, stream = n + 1, []
                stream.append(e)
            if stream:
                await _flush(conn, schema, stream)
                n += 1
    return n


async def _flush(conn: asyncpg.Connection, schema: str, events: list[StoredEvent]) -> None:
    case = ReviewCase.replay(events)
    if case is not None:
        await project(conn, schema, case, events)
