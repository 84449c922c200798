"""An import whose write stage fails midway keeps a prefix of whole chunks (chunks are written
by overlapping transactions, gx_kernel.ordered, committed in order), and the same import run
again goes on from there to the rows a run without the failure writes."""
import sys
import uuid
from pathlib import Path

import asyncpg
import pytest

from gx_kernel.eventstore import EventStore
from gx_kernel.migrations import run_migrations

from gx_registry.application import importer
from gx_registry.cli import MIGRATIONS

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from registry_data import generate  # noqa: E402
from registry_import_bench import queue_batch  # noqa: E402

pytestmark = pytest.mark.integration
CHUNK = 40


class Injected(Exception):
    pass


async def _batch(store, path: Path) -> importer.Batch:
    return await queue_batch(store, path, path.name, "test")


async def _register(conn, s):
    """What the import wrote, without the ids that name the batch (new units', tasks')."""
    units = sorted(tuple(r) for r in await conn.fetch(
        f"SELECT coalesce(uscc, ''), name, coalesce(address, ''), status, closed, division_code,"
        f" version, unit_kind, coalesce(unit_type, '') FROM {s}.units"))
    events = dict(tuple(r) for r in await conn.fetch(
        f"SELECT type, count(*) FROM {s}.events GROUP BY type"))
    tasks = sorted(tuple(r) for r in await conn.fetch(
        f"SELECT kind, status, count(*) FROM {s}.tasks GROUP BY 1, 2"))
    return units, events, tasks


async def _by_row(conn, s, batch_id):
    """Each file row's event types (row numbers from the events' source)."""
    rows = await conn.fetch(
        f"SELECT (data->'source'->>'row_no')::int AS row_no, array_agg(type ORDER BY type) AS t"
        f" FROM {s}.events WHERE data->'source'->>'batch_id' = $1 GROUP BY 1", str(batch_id))
    return {r["row_no"]: r["t"] for r in rows}


async def test_a_failed_write_leaves_whole_chunks_and_the_rerun_completes_it(
        infra, tmp_path, monkeypatch):
    generate(tmp_path, 400, 300, seed=3)
    monkeypatch.setattr(importer, "CHUNK", CHUNK)
    pool = await asyncpg.create_pool(infra.database_url, min_size=1, max_size=6)
    schemas = [f"t{uuid.uuid4().hex[:8]}_registry" for _ in range(2)]
    try:
        stores = []
        for s in schemas:
            await run_migrations(pool, s, [MIGRATIONS])
            store = EventStore(pool, s)
            await store.setup()
            await importer.run_import(store, await _batch(store, tmp_path / "stock.csv"),
                                      tmp_path / "stock.csv")
            stores.append(store)
        clean, broken = stores
        result = await importer.run_import(clean, await _batch(clean, tmp_path / "batch.csv"),
                                           tmp_path / "batch.csv")
        assert result.outcomes["changed"] > 0 and result.outcomes["new"] > 0

        decide, calls = importer._decide, [0]

        def failing(*args, **kw):  # the 4th chunk's rows (after the unchanged ones) fail
            calls[0] += 1
            if calls[0] == 3 * CHUNK // 2 + 5:
                raise Injected("the write stage fails midway")
            return decide(*args, **kw)
        monkeypatch.setattr(importer, "_decide", failing)
        b = await _batch(broken, tmp_path / "batch.csv")
        with pytest.raises(Injected):
            await importer.run_import(broken, b, tmp_path / "batch.csv")
        async with pool.acquire() as conn:
            row = await conn.fetchrow(f"SELECT stage, rows_done FROM {broken.schema}"
                                      f".import_batches WHERE batch_id = $1", b.batch_id)
            assert row["stage"] == "writing"
            assert row["rows_done"] > 0 and row["rows_done"] % CHUNK == 0
            # a prefix of the rows has its events, each row's as in the run without failure
            written = await _by_row(conn, broken.schema, b.batch_id)
            last = max(written)
            assert written == {k: v for k, v in (await _by_row(
                conn, clean.schema, result.batch_id)).items() if k <= last}
            assert row["rows_done"] >= 2 * CHUNK  # the chunk before the failing one committed

        monkeypatch.setattr(importer, "_decide", decide)
        again = await importer.run_import(broken, b, tmp_path / "batch.csv")
        assert again.outcomes == result.outcomes
        async with pool.acquire() as conn:
            assert await _register(conn, broken.schema) == await _register(conn, clean.schema)
    finally:
        async with pool.acquire() as conn:
            for s in schemas:
                await conn.execute(f"DROP SCHEMA IF EXISTS {s} CASCADE")
        await pool.close()
