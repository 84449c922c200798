"""Workflow's schema as numbered migrations: a schema made by the start-up DDL of before
adopts them with every record intact, and a fresh one comes out the same (real PostgreSQL)."""
import uuid

from gx_kernel.migrations import run_migrations

from gx_workflow.adapters.schema import MIGRATIONS, setup_schema
from gx_workflow.domain.chains import load_chain_file
from tests.migration_support import pool, schemas, shape  # noqa: F401 - fixtures

# The workflow tables exactly as gx_workflow.adapters.schema.ddl created them before migrations.
BEFORE_MIGRATIONS = """
CREATE SCHEMA IF NOT EXISTS {s};
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
ALTER TABLE {s}.cases ADD COLUMN IF NOT EXISTS changed_tx bigint NOT NULL DEFAULT 0;
CREATE INDEX IF NOT EXISTS cases_changes ON {s}.cases (task_id, changed_tx);
ALTER TABLE {s}.cases ADD COLUMN IF NOT EXISTS accepted_level text;
CREATE TABLE IF NOT EXISTS {s}.case_steps (
    case_id uuid NOT NULL, version integer NOT NULL, event_id uuid NOT NULL,
    event_type text NOT NULL, action text NOT NULL, at timestamptz NOT NULL,
    actor text, actor_name text, role text, division text, device text,
    from_level text, to_level text, revision integer, comment text, reason_code text,
    reason text, field_notes jsonb NOT NULL DEFAULT '{{}}',
    PRIMARY KEY (case_id, version));
ALTER TABLE {s}.case_steps ADD COLUMN IF NOT EXISTS final boolean;
"""


LATER_TABLES = ("task_scopes",)  # 0002: each task's scope, from `*.task.published`


def _without(shape_: tuple, tables: tuple[str, ...]) -> tuple:
    columns, indexes, constraints = shape_
    return ([c for c in columns if c[0] not in tables],
            [i for i in indexes if not any(i[0].startswith(t) for t in tables)],
            [c for c in constraints if c[0] not in tables])


async def test_a_schema_from_before_adopts_the_migrations_with_every_record(pool, schemas):
    s = schemas()
    case_id, event_id = uuid.uuid4(), uuid.uuid4()
    async with pool.acquire() as conn:
        await conn.execute(BEFORE_MIGRATIONS.format(s=s))
        await conn.execute(
            f"INSERT INTO {s}.chain_configs (subject_kind, version, config) VALUES "
            f"('agri.report', 7, '{{\"subject_kind\": \"agri.report\", \"version\": 7, "
            f"\"levels\": [\"township\", \"region\"], \"final_level\": \"region\"}}')")
        await conn.execute(
            f"INSERT INTO {s}.cases (case_id, subject_kind, subject_id, division_code, task_id, "
            f"status, level, version, revision, arrived_at, opened_at, deadline, late, view, "
            f"changed_tx, accepted_level) VALUES ($1, 'agri.report', 'r-1', '450103103201', "
            f"'t-1', 'in_review', 'region', 3, 2, now(), now(), NULL, true, "
            f"'{{\"status\": \"in_review\"}}', 42, 'township')", case_id)
        await conn.execute(
            f"INSERT INTO {s}.case_steps (case_id, version, event_id, event_type, action, at, "
            f"actor, comment, field_notes, final) VALUES ($1, 3, $2, 'workflow.case.accepted', "
            f"'accept', now(), 'u-1', '数据验收', '{{\"A01\": \"核实\"}}', false)",
            case_id, event_id)
        before = await shape(conn, s)
        await setup_schema(conn, s, load_chain_file())  # what the service does at start
        # adopted: nothing changed (beside the tables later migrations add)
        assert _without(await shape(conn, s), LATER_TABLES) == before
        row = await conn.fetchrow(f"SELECT * FROM {s}.cases")
        assert (row["case_id"], row["status"], row["level"], row["version"], row["late"],
                row["changed_tx"], row["accepted_level"]) == (
            case_id, "in_review", "region", 3, True, 42, "township")
        step = await conn.fetchrow(f"SELECT * FROM {s}.case_steps")
        assert (step["event_id"], step["comment"], step["final"]) == (event_id, "数据验收", False)
        assert '"A01": "核实"' in step["field_notes"]
        kept = await conn.fetchval(f"SELECT config->'levels' FROM {s}.chain_configs "
                                   f"WHERE subject_kind = 'agri.report' AND version = 7")
        assert kept == '["township", "region"]'  # a stored version is never overwritten
        assert await conn.fetchval(f"SELECT count(*) FROM {s}.divisions") > 10000
        assert [tuple(r) for r in await conn.fetch(
            f"SELECT source, version, name FROM {s}.schema_migrations ORDER BY version")] == [
            ("gx_workflow", 1, "initial"), ("gx_workflow", 2, "task_scopes")]
    assert await run_migrations(pool, s, [MIGRATIONS], kernel=False) == []


async def test_a_fresh_schema_from_the_migrations_is_the_same_as_before(pool, schemas):
    old, new = schemas(), schemas()
    async with pool.acquire() as conn:
        await conn.execute(BEFORE_MIGRATIONS.format(s=old))
    applied = await run_migrations(pool, new, [MIGRATIONS], kernel=False)
    assert [str(m) for m in applied] == ["gx_workflow/0001_initial", "gx_workflow/0002_task_scopes"]
    async with pool.acquire() as conn:
        assert _without(await shape(conn, new), LATER_TABLES) == await shape(conn, old)
