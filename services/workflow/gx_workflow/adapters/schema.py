"""Tables of the workflow schema: chain configs, division tree, and the projections."""
from __future__ import annotations

import json
from pathlib import Path

import asyncpg

from gx_contracts.divisions import reference_csv_path

from gx_workflow.domain.chains import DEFAULT_PROFILE, ChainConfig


def progress_channel(schema: str) -> str:
    """NOTIFY channel of progress changes (PostgreSQL identifiers stop at 63 bytes)."""
    return f"{schema}_progress"[:63]


def ddl(s: str) -> str:
    return f"""
    CREATE TABLE IF NOT EXISTS {s}.chain_configs (
        subject_kind text NOT NULL, version integer NOT NULL, config jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (subject_kind, version));
    CREATE TABLE IF NOT EXISTS {s}.divisions (
        code text PRIMARY KEY, name text NOT NULL, level smallint NOT NULL,
        parent_code text, urban_rural_code text, village_count integer NOT NULL DEFAULT 0);
    CREATE INDEX IF NOT EXISTS divisions_parent ON {s}.divisions (parent_code);
    CREATE TABLE IF NOT EXISTS {s}.cases (
        case_id uuid PRIMARY KEY, subject_kind text NOT NULL, subject_id text NOT NULL,
        division_code text NOT NULL, task_id text, status text NOT NULL, level text NOT NULL,
        version integer NOT NULL, revision integer NOT NULL, arrived_at timestamptz NOT NULL,
        opened_at timestamptz NOT NULL, deadline timestamptz, late boolean NOT NULL,
        view jsonb NOT NULL);
    CREATE INDEX IF NOT EXISTS cases_queue ON {s}.cases (level, division_code text_pattern_ops,
        arrived_at) WHERE status <> 'accepted';
    CREATE INDEX IF NOT EXISTS cases_progress ON {s}.cases (task_id, division_code text_pattern_ops)
        INCLUDE (status, level, late, deadline);
    CREATE INDEX IF NOT EXISTS cases_deadline ON {s}.cases (deadline)
        WHERE status = 'in_review' AND NOT late;
    -- Id of the transaction that last changed the row: live progress streams find the cases
    -- changed since they last looked, gap-free (see application/live.py).
    ALTER TABLE {s}.cases ADD COLUMN IF NOT EXISTS changed_tx bigint NOT NULL DEFAULT 0;
    CREATE INDEX IF NOT EXISTS cases_changes ON {s}.cases (task_id, changed_tx);
    -- Who accepted last (乡镇数据验收 while still in review = accepted early); null otherwise.
    ALTER TABLE {s}.cases ADD COLUMN IF NOT EXISTS accepted_level text;
    CREATE TABLE IF NOT EXISTS {s}.case_steps (
        case_id uuid NOT NULL, version integer NOT NULL, event_id uuid NOT NULL,
        event_type text NOT NULL, action text NOT NULL, at timestamptz NOT NULL,
        actor text, actor_name text, role text, division text, device text,
        from_level text, to_level text, revision integer, comment text, reason_code text,
        reason text, field_notes jsonb NOT NULL DEFAULT '{{}}',
        PRIMARY KEY (case_id, version));
    -- Acceptance steps: final (确认) or early (数据验收); null for other steps.
    ALTER TABLE {s}.case_steps ADD COLUMN IF NOT EXISTS final boolean;
    """


async def setup_schema(conn: asyncpg.Connection, schema: str, chains: list[ChainConfig],
                       divisions_csv: Path | None = None) -> None:
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"{schema}.setup")
        await conn.execute(ddl(schema))
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
