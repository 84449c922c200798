"""The population schema: numbered migrations (gx_population/migrations), applied at start."""
from __future__ import annotations

from pathlib import Path

import asyncpg

from gx_kernel.migrations import run_migrations

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


async def setup(pool: asyncpg.Pool, schema: str) -> None:
    await run_migrations(pool, schema, [MIGRATIONS], kernel=False)
