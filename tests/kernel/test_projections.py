"""Projection rebuild on real PostgreSQL: the replayed model equals the live one."""
import subprocess
import sys
from pathlib import Path

import pytest

from gx_kernel.eventstore import NewEvent
from gx_kernel.projections import rebuild
from gx_kernel.uow import UnitOfWork

from .rebuild_demo import PROJECTIONS

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
async def live(pool, schema, store, monkeypatch):
    """Events written through units of work, projected as they commit."""
    monkeypatch.setenv("GX_DB_SCHEMA", schema)
    async with pool.acquire() as conn:
        await conn.execute(f"CREATE TABLE {schema}.totals (stream_id text PRIMARY KEY, "
                           f"total bigint NOT NULL)")
    for i in range(60):
        async with UnitOfWork(store, projections=PROJECTIONS) as uow:
            kind = "thing.uncounted" if i % 7 == 0 else "thing.counted"
            uow.collect(f"s-{i % 4}", None, [NewEvent(kind, {"n": i}),
                                             NewEvent("thing.noted", {"n": i})])
    return await totals(pool, schema)


async def totals(pool, schema):
    async with pool.acquire() as conn:
        return {r["stream_id"]: r["total"] for r in await conn.fetch(
            f"SELECT stream_id, total FROM {schema}.totals")}


@pytest.mark.parametrize("one_transaction", [True, False])
async def test_rebuild_reproduces_the_live_read_model(pool, schema, store, live,
                                                      one_transaction):
    async with pool.acquire() as conn:  # a read model gone wrong
        await conn.execute(f"UPDATE {schema}.totals SET total = -1")
        await conn.execute(f"INSERT INTO {schema}.totals VALUES ('bogus', 1)")
    progress = []
    result = await rebuild(store, PROJECTIONS, batch_size=7, one_transaction=one_transaction,
                           progress=lambda done, total: progress.append((done, total)))
    assert await totals(pool, schema) == live and len(live) == 4
    assert result.events == 60  # the projected types only
    assert progress[-1] == (60, 60) and len(progress) == 9


async def test_a_failing_rebuild_in_one_transaction_keeps_the_old_model(pool, schema, store,
                                                                        live):
    async with pool.acquire() as conn:
        await conn.execute(f"INSERT INTO {schema}.events (id, stream_id, version, type, "
                           f"schema_version, data, metadata) VALUES (gen_random_uuid(), 'x', 1, "
                           f"'thing.counted', 1, '{{}}', '{{}}')")  # no "n": the projector fails
    with pytest.raises(KeyError):
        await rebuild(store, PROJECTIONS)
    assert await totals(pool, schema) == live


def test_cli_rebuilds_with_a_progress_bar(infra, pool, schema, live):
    env = {"GX_DB_SCHEMA": schema, "PATH": "/usr/bin:/bin", "COLUMNS": "100"}
    run = subprocess.run(
        [sys.executable, "-m", "gx_kernel.projections", "--database-url", infra.database_url,
         "--schema", schema, "tests.kernel.rebuild_demo:PROJECTIONS"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert "60 events replayed" in run.stdout
