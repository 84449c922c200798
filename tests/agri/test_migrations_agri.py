"""Agri's schema as numbered migrations: a schema made by today's start-up DDL adopts them
with every record intact, and a fresh one comes out the same (real PostgreSQL)."""
import uuid

from gx_kernel.migrations import run_migrations

from gx_agri.adapters import schema as agri_schema
from tests.migration_support import pool, schemas, shape  # noqa: F401 - fixtures

# The agri read models exactly as gx_agri.adapters.schema.ddl created them before migrations.
BEFORE_MIGRATIONS = """
CREATE SCHEMA IF NOT EXISTS {s};
CREATE TABLE IF NOT EXISTS {s}.divisions (
    code text PRIMARY KEY, name text NOT NULL, level smallint NOT NULL,
    parent_code text, urban_rural_code text);
CREATE INDEX IF NOT EXISTS divisions_level_code ON {s}.divisions (level, code text_pattern_ops);
CREATE TABLE IF NOT EXISTS {s}.tasks (
    task_id uuid PRIMARY KEY, form_code text NOT NULL, form_version int NOT NULL,
    period text NOT NULL, title text NOT NULL, scope_division text NOT NULL,
    scope_prefix text NOT NULL, deadline timestamptz NOT NULL, published_by text NOT NULL,
    published_at timestamptz NOT NULL DEFAULT now(), village_count int NOT NULL,
    version int NOT NULL);
CREATE TABLE IF NOT EXISTS {s}.reports (
    report_id uuid PRIMARY KEY, task_id uuid NOT NULL, village_code text NOT NULL,
    form_code text NOT NULL, form_version int NOT NULL, period text NOT NULL,
    status text NOT NULL DEFAULT 'not_started', version int NOT NULL DEFAULT 0,
    revision int NOT NULL DEFAULT 0, vals jsonb NOT NULL DEFAULT '{{}}',
    explanations jsonb NOT NULL DEFAULT '{{}}', case_id uuid,
    approved_rank smallint NOT NULL DEFAULT 0, review_level text,
    return_reason_code text, return_reason text, return_from_level text,
    field_notes jsonb NOT NULL DEFAULT '{{}}', submitted_at timestamptz,
    updated_at timestamptz NOT NULL DEFAULT now());
ALTER TABLE {s}.reports ADD COLUMN IF NOT EXISTS accepted_level text;
ALTER TABLE {s}.reports ADD COLUMN IF NOT EXISTS confirmed_level text;
CREATE UNIQUE INDEX IF NOT EXISTS reports_task_village
    ON {s}.reports (task_id, village_code text_pattern_ops);
CREATE INDEX IF NOT EXISTS reports_village ON {s}.reports (village_code, form_code, status);
CREATE TABLE IF NOT EXISTS {s}.review_log (
    event_id uuid PRIMARY KEY, report_id uuid NOT NULL, type text NOT NULL,
    data jsonb NOT NULL, metadata jsonb NOT NULL, at timestamptz NOT NULL);
CREATE INDEX IF NOT EXISTS review_log_report ON {s}.review_log (report_id, at);
"""


async def test_a_schema_from_before_adopts_the_migrations_with_every_record(pool, schemas):
    s = schemas()
    task, report = uuid.uuid4(), uuid.uuid4()
    async with pool.acquire() as conn:
        await conn.execute(BEFORE_MIGRATIONS.format(s=s))
        await conn.execute(
            f"INSERT INTO {s}.tasks VALUES ($1, 'A301', 1, '2026-EARLY', '早稻', '450102',"
            f" '450102', now(), 'u1', now(), 1, 1)", task)
        await conn.execute(
            f"INSERT INTO {s}.reports (report_id, task_id, village_code, form_code,"
            f" form_version, period, status, version, revision, vals, accepted_level)"
            f" VALUES ($1, $2, '450102001001', 'A301', 1, '2026-EARLY', 'accepted', 3, 1,"
            f" '{{\"grain_area\": 12.5}}', 'township')", report, task)
        await conn.execute(f"INSERT INTO {s}.review_log VALUES ($1, $2, 'workflow.case.opened',"
                           f" '{{}}', '{{}}', now())", uuid.uuid4(), report)
        before = await shape(conn, s)
    await agri_schema.setup(pool, s)
    async with pool.acquire() as conn:
        assert await shape(conn, s) == before  # adopted: nothing changed
        row = await conn.fetchrow(f"SELECT * FROM {s}.reports")
        assert (row["report_id"], row["status"], row["version"], row["accepted_level"]) == (
            report, "accepted", 3, "township") and '"grain_area": 12.5' in row["vals"]
        assert await conn.fetchval(f"SELECT count(*) FROM {s}.tasks") == 1
        assert await conn.fetchval(f"SELECT count(*) FROM {s}.review_log") == 1
        assert await conn.fetchval(f"SELECT count(*) FROM {s}.divisions") > 10000
        assert [tuple(r) for r in await conn.fetch(
            f"SELECT source, version, name FROM {s}.schema_migrations")] == [
            ("gx_agri", 1, "initial"), ("gx_agri", 2, "review_history_in_stream")]
    assert await run_migrations(pool, s, [agri_schema.MIGRATIONS], kernel=False) == []


async def test_a_fresh_schema_from_the_migrations_is_the_same_as_before(pool, schemas):
    old, new = schemas(), schemas()
    async with pool.acquire() as conn:
        await conn.execute(BEFORE_MIGRATIONS.format(s=old))
    await run_migrations(pool, new, [agri_schema.MIGRATIONS], kernel=False)
    async with pool.acquire() as conn:
        assert await shape(conn, new) == await shape(conn, old)
