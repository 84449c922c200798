"""Migrations runner on the real database: fresh, re-run, racing replicas, changed files."""
import asyncio
import subprocess
import sys

import pytest

from gx_kernel.consumer import IdempotentConsumer
from gx_kernel.eventstore import EventStore, NewEvent
from gx_kernel.idempotency import ddl as idempotency_ddl
from gx_kernel.migrations import MigrationError, discover, run_migrations
from gx_kernel.relay_store import RelayTables

INITIAL = """
CREATE TABLE items (id integer PRIMARY KEY, label text NOT NULL);
INSERT INTO items VALUES (1, '天堂村');
"""
SECOND = "CREATE INDEX items_label ON items (label); INSERT INTO items VALUES (2, 'b');"


@pytest.fixture
def service_dir(tmp_path):
    folder = tmp_path / "gx_demo" / "migrations"
    folder.mkdir(parents=True)
    (folder / "0001_initial.sql").write_text(INITIAL, encoding="utf-8")
    (folder / "0002_label_index.sql").write_text(SECOND, encoding="utf-8")
    return folder


async def fetch(pool, sql):
    async with pool.acquire() as conn:
        return [tuple(r) for r in await conn.fetch(sql)]


async def test_fresh_apply_then_rerun_changes_nothing(pool, schema, service_dir):
    done = await run_migrations(pool, schema, [service_dir])
    assert [str(m) for m in done] == ["gx_kernel/0001_kernel_tables", "gx_demo/0001_initial",
                                      "gx_demo/0002_label_index"]
    assert await fetch(pool, f"SELECT id, label FROM {schema}.items ORDER BY id") == [
        (1, "天堂村"), (2, "b")]
    recorded = await fetch(pool, f"SELECT source, version, name, length(checksum) "
                                 f"FROM {schema}.schema_migrations ORDER BY source, version")
    assert recorded == [("gx_demo", 1, "initial", 64), ("gx_demo", 2, "label_index", 64),
                        ("gx_kernel", 1, "kernel_tables", 64)]
    assert await run_migrations(pool, schema, [service_dir]) == []
    assert len(await fetch(pool, f"SELECT id FROM {schema}.items")) == 2
    # The kernel's tables are usable as the event store's, without its setup().
    store = EventStore(pool, schema)
    await store.append("s-1", 0, [NewEvent("thing.happened", {"n": 1})])
    assert len(await store.read_all()) == 1


async def test_replicas_starting_together_apply_each_file_once(pool, schema, service_dir):
    results = await asyncio.gather(*[run_migrations(pool, schema, [service_dir])
                                     for _ in range(5)])
    assert sorted(len(r) for r in results) == [0, 0, 0, 0, 3]
    assert len(await fetch(pool, f"SELECT id FROM {schema}.items")) == 2


async def test_a_changed_applied_file_is_refused_and_nothing_runs(pool, schema, service_dir):
    await run_migrations(pool, schema, [service_dir])
    (service_dir / "0001_initial.sql").write_text(INITIAL + "-- edited\n", encoding="utf-8")
    (service_dir / "0003_more.sql").write_text("INSERT INTO items VALUES (3, 'c');")
    with pytest.raises(MigrationError, match="0001_initial"):
        await run_migrations(pool, schema, [service_dir])
    assert len(await fetch(pool, f"SELECT id FROM {schema}.items")) == 2  # 0003 not applied


async def test_a_failing_file_rolls_back_alone(pool, schema, service_dir):
    (service_dir / "0003_broken.sql").write_text(
        "INSERT INTO items VALUES (3, 'c'); SELECT no_such_column FROM items;")
    with pytest.raises(MigrationError, match="0003_broken"):
        await run_migrations(pool, schema, [service_dir])
    assert len(await fetch(pool, f"SELECT id FROM {schema}.items")) == 2
    versions = await fetch(pool, f"SELECT version FROM {schema}.schema_migrations "
                                 f"WHERE source = 'gx_demo' ORDER BY version")
    assert versions == [(1,), (2,)]
    (service_dir / "0003_broken.sql").write_text("INSERT INTO items VALUES (3, 'c');")
    assert [m.name for m in await run_migrations(pool, schema, [service_dir])] == ["broken"]


async def columns(pool, schema):
    return await fetch(pool, f"""
        SELECT table_name, column_name, data_type, is_nullable,
               regexp_replace(coalesce(column_default, ''), '{schema}\\.', '')
        FROM information_schema.columns WHERE table_schema = '{schema}'
        AND table_name <> 'schema_migrations' ORDER BY 1, 2""")


async def indexes(pool, schema):
    return await fetch(pool, f"""
        SELECT tablename, replace(indexdef, '{schema}.', '') FROM pg_indexes
        WHERE schemaname = '{schema}' AND tablename <> 'schema_migrations' ORDER BY 1, 2""")


async def test_kernel_migrations_match_the_tables_made_at_start(pool, schema):
    """A schema made by the components' own setup and one made by migrations are the same."""
    await run_migrations(pool, schema)
    other = f"{schema}_old"
    try:
        await EventStore(pool, other).setup()
        async with pool.acquire() as conn:
            await conn.execute(idempotency_ddl(other))
        await RelayTables(pool, other).setup()
        await IdempotentConsumer(pool=pool, schema=other, group_id="g", topics=[], handler=None,
                                 bootstrap="", producer_factory=None).setup()
        assert await columns(pool, other) == await columns(pool, schema)
        assert await indexes(pool, other) == [(t, d.replace(schema, other))
                                              for t, d in await indexes(pool, schema)]
        assert [m.name for m in await run_migrations(pool, other)] == ["kernel_tables"]
    finally:
        async with pool.acquire() as conn:
            await conn.execute(f"DROP SCHEMA IF EXISTS {other} CASCADE")


def test_cli_applies_and_reports(infra, schema, service_dir):
    cmd = [sys.executable, "-m", "gx_kernel.migrations", "--database-url", infra.database_url,
           "--schema", schema, str(service_dir)]
    first = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert first.returncode == 0, first.stderr
    assert "3 migration(s) applied" in first.stdout and "gx_demo/0002_label_index" in first.stdout
    (service_dir / "0002_label_index.sql").write_text(SECOND + "\n-- edited")
    refused = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert refused.returncode == 1 and "0002_label_index" in refused.stdout


def test_badly_named_or_duplicate_files_are_refused(tmp_path):
    (tmp_path / "0001_a.sql").write_text("")
    (tmp_path / "0001_b.sql").write_text("")
    with pytest.raises(MigrationError, match="version 1"):
        discover([tmp_path])
    (tmp_path / "0001_b.sql").rename(tmp_path / "2-b.sql")
    with pytest.raises(MigrationError, match="NNNN"):
        discover([tmp_path])


async def test_compressible_columns_take_lz4_where_the_server_has_it(pool, schema, service_dir):
    """After the migrations every text/jsonb column of the schema compresses with lz4 (when the
    server was built with it; else all stay at the default), rows from before stay as they
    were, and another start changes nothing."""
    from gx_kernel.migrations import prefer_lz4, server_has_lz4

    big = "天堂村" * 2000  # compressed when stored: over the TOAST threshold
    async with pool.acquire() as conn:
        await conn.execute(f"CREATE SCHEMA {schema}; CREATE TABLE {schema}.items ("
                           f"id integer PRIMARY KEY, label text NOT NULL)")
        await conn.execute(f"INSERT INTO {schema}.items VALUES (0, $1)", big)
        lz4 = await server_has_lz4(conn)
    (service_dir / "0001_initial.sql").write_text(
        "CREATE TABLE IF NOT EXISTS items (id integer PRIMARY KEY, label text NOT NULL);"
        "INSERT INTO items VALUES (1, repeat('天堂村', 2000));", encoding="utf-8")
    await run_migrations(pool, schema, [service_dir])
    settings = await fetch(pool, f"""
        SELECT c.relname, a.attname, a.attcompression::text FROM pg_attribute a
        JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = '{schema}' AND c.relkind = 'r' AND a.attnum > 0
          AND NOT a.attisdropped AND a.attstorage IN ('x', 'm')""")
    assert ("events", "data", "l" if lz4 else "") in settings
    assert {s for _, _, s in settings} == {"l" if lz4 else ""}
    assert await fetch(pool, f"SELECT id, label = repeat('天堂村', 2000) FROM {schema}.items "
                             f"WHERE id < 2 ORDER BY id") == [(0, True), (1, True)]
    async with pool.acquire() as conn:
        await conn.execute(f"INSERT INTO {schema}.items VALUES (3, $1)", big)
    compressed = await fetch(pool, f"SELECT id, pg_column_compression(label) FROM"
                                   f" {schema}.items WHERE id <> 2 ORDER BY id")
    # rows written before (here by the migrations themselves) keep pglz; those since, lz4
    assert compressed == [(0, "pglz"), (1, "pglz"), (3, "lz4" if lz4 else "pglz")]
    async with pool.acquire() as conn:
        assert await prefer_lz4(conn, schema) == 0
