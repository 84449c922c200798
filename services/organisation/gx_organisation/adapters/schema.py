"""Read-model tables of the organisation service (numbered migrations) and the division tree."""
from __future__ import annotations

from pathlib import Path

import asyncpg

from gx_contracts.divisions import load_divisions
from gx_kernel.migrations import run_migrations

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
"""gx_organisation/migrations: NNNN_what.sql, applied once each, in order."""


async def setup(pool: asyncpg.Pool, schema: str) -> None:
    """Apply pending migrations, then load the division tree once (COPY)."""
    await run_migrations(pool, schema, [MIGRATIONS], kernel=False)
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))",
                           f"{schema}.organisation-setup")
        if await conn.fetchval(f"SELECT count(*) FROM {schema}.divisions") == 0:
            rows = [(d.code, d.name, d.level.csv_level, d.parent_code)
                    for d in load_divisions().values()]
            await conn.copy_records_to_table(
                "divisions", schema_name=schema, records=rows,
                columns=["code", "name", "level", "parent_code"])
