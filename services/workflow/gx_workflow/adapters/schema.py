"""Tables of the workflow schema: chain configs, division tree, and the projections.

The tables are numbered migrations (`gx_workflow/migrations`, run through gx_kernel.migrations
under its advisory lock); what is here seeds and reads them."""
from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg

from gx_contracts.divisions import reference_csv_path
from gx_kernel.migrations import run_migrations

from gx_workflow.domain.chains import DEFAULT_PROFILE, ChainConfig

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def progress_channel(schema: str) -> str:
    """NOTIFY channel of progress changes (PostgreSQL identifiers stop at 63 bytes)."""
    return f"{schema}_progress"[:63]


class _OneConnection:
    """A pool of one held connection, for `run_migrations` from a caller's connection."""

    def __init__(self, conn: asyncpg.Connection):
        self._conn = conn

    @contextlib.asynccontextmanager
    async def acquire(self) -> AsyncIterator[asyncpg.Connection]:
        yield self._conn


async def setup_schema(conn: asyncpg.Connection, schema: str, chains: list[ChainConfig],
                       divisions_csv: Path | None = None) -> None:
    """The workflow's tables (numbered migrations, usually applied already by the service
    bootstrap), then its seed data: chain versions not yet stored, the division tree once."""
    await run_migrations(_OneConnection(conn), schema, [MIGRATIONS], kernel=False)
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"{schema}.setup")
        await seed_chains(conn, schema, chains)
        if not await conn.fetchval(f"SELECT EXISTS (SELECT 1 FROM {schema}.divisions)"):
            await load_divisions(conn, schema, divisions_csv or reference_csv_path())


async def seed_chains(conn: asyncpg.Connection, schema: str, chains: list[ChainConfig]) -> None:
    """Insert seed versions not yet stored; a stored version is never overwritten."""
    for c in chains:
        await conn.execute(
            f"INSERT INTO {schema}.chain_configs (subject_kind, version, config) "
            f"VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            c.subject_kind, c.version, json.dumps(c.to_dict(), ensure_ascii=False))


async def publish_chain(conn: asyncpg.Connection, schema: str, chain: ChainConfig) -> ChainConfig:
    """A new version of a kind's chain; running cases keep the copy they opened with."""
    latest = await conn.fetchval(
        f"SELECT coalesce(max(version), 0) FROM {schema}.chain_configs WHERE subject_kind = $1",
        chain.subject_kind)
    new = ChainConfig.from_dict({**chain.to_dict(), "version": latest + 1})
    await seed_chains(conn, schema, [new])
    return new


async def current_chain(conn: asyncpg.Connection, schema: str, kind: str,
                        profile: str = DEFAULT_PROFILE) -> ChainConfig | None:
    """The latest version of the kind's chain in `profile` (else in the standard profile)."""
    raw = await conn.fetchval(
        f"SELECT config FROM {schema}.chain_configs WHERE subject_kind = $1 "
        f"AND coalesce(config->>'profile', $3) IN ($2, $3) "
        f"ORDER BY (coalesce(config->>'profile', $3) = $2) DESC, version DESC LIMIT 1",
        kind, profile, DEFAULT_PROFILE)
    return ChainConfig.from_dict(json.loads(raw)) if raw else None


async def load_divisions(conn: asyncpg.Connection, schema: str, csv_path: Path) -> None:
    """COPY the reference division tree, then count villages under every division."""
    await conn.copy_to_table("divisions", schema_name=schema, source=str(csv_path),
                             columns=["code", "name", "level", "parent_code", "urban_rural_code"],
                             format="csv", header=True, null="")
    # A division's villages are the level-5 codes starting with its jurisdiction prefix.
    await conn.execute(f"""
        WITH v AS (SELECT code FROM {schema}.divisions WHERE level = 5),
        counts AS (
            SELECT left(code, n) AS prefix, n, count(*) AS c FROM v,
                   unnest(ARRAY[2, 4, 6, 9, 12]) AS n GROUP BY 1, 2)
        UPDATE {schema}.divisions d SET village_count = counts.c FROM counts
        WHERE d.code = rpad(counts.prefix, 12, '0')
          AND counts.n = (ARRAY[2, 4, 6, 9, 12])[d.level]""")
