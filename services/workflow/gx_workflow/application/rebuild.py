"""Rebuild the projections from the event store: the kernel's rebuild of `projections_for`."""
from __future__ import annotations

import asyncpg

from gx_kernel.eventstore import EventStore
from gx_kernel.projections import rebuild

from gx_workflow.application.projection import projections_for


async def rebuild_projections(pool: asyncpg.Pool, schema: str, batch_size: int = 5000) -> int:
    """Replace `cases` and `case_steps` with a replay of all case events; returns cases rebuilt.

    One transaction (the kernel's default): readers see the old projections until the new
    ones commit.
    """
    await rebuild(EventStore(pool, schema), projections_for(schema), batch_size=batch_size)
    async with pool.acquire() as conn:
        return await conn.fetchval(f"SELECT count(*) FROM {schema}.cases")
