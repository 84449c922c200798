"""Event append throughput, gap-free reading on, against plain single-row INSERTs.

    .venv/bin/python bench/eventstore_bench.py [--seconds 5]

Prints events/s for 1 and 8 concurrent writers, with 1 and 10 events per transaction, and
the ratio to plain single-row INSERTs into a bare table on the same server in the same run.
"""
import argparse
import asyncio
import os
import statistics
import sys
import time
import uuid

import asyncpg

sys.path.insert(0, os.path.dirname(__file__))
from _infra import bench_infra  # noqa: E402

from gx_kernel.eventstore import EventStore, NewEvent  # noqa: E402

ROUNDS = 3
PAYLOAD = {"village_code": "450103103201", "values": {"early_rice_area": 1234.5}}


async def timed(pool, writers: int, seconds: float, one_write) -> int:
    """Each writer holds its own connection, as a service's request handler would."""
    count = 0
    stop_at = time.perf_counter() + seconds

    async def worker(w: int) -> None:
        nonlocal count
        i = 0
        async with pool.acquire() as conn:
            while time.perf_counter() < stop_at:
                done = await one_write(conn, w, i)  # not `count += await`: lost updates
                count += done
                i += 1

    await asyncio.gather(*[worker(w) for w in range(writers)])
    return count


async def plain_rate(pool, writers: int, seconds: float) -> float:
    async with pool.acquire() as conn:
        await conn.execute("CREATE TABLE IF NOT EXISTS bench_bare "
                           "(id bigserial PRIMARY KEY, data jsonb)")

    async def write(conn, w, i):
        await conn.execute("INSERT INTO bench_bare (data) VALUES ($1::jsonb)",
                           '{"village_code": "450103103201"}')
        return 1

    return await timed(pool, writers, seconds, write) / seconds


async def append_rate(pool, writers: int, per_tx: int, seconds: float) -> float:
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    store = EventStore(pool, schema)
    await store.setup()
    versions: dict[str, int] = {}

    async def write(conn, w, i):
        stream = f"report-{w}-{i % 50}"
        expected = versions.get(stream, 0)
        events = [NewEvent("agri.report.draft_saved", PAYLOAD) for _ in range(per_tx)]
        # Outside a transaction the append is one atomic statement on this connection.
        await store.append(stream, expected, events, metadata={"actor": f"u{w}"}, conn=conn)
        versions[stream] = expected + per_tx
        return per_tx

    rate = await timed(pool, writers, seconds, write) / seconds
    seen = await count_readable(store)
    async with pool.acquire() as conn:
        written = await conn.fetchval(f"SELECT count(*) FROM {schema}.events")
        await conn.execute(f"DROP SCHEMA {schema} CASCADE")
    assert seen == written, f"reader saw {seen} of {written}"
    return rate


async def count_readable(store: EventStore) -> int:
    from gx_kernel.eventstore import Checkpoint
    cp, n = Checkpoint.START, 0
    while batch := await store.read_all(cp, limit=5000):
        n += len(batch)
        cp = batch[-1].checkpoint
    return n


async def main(seconds: float) -> None:
    with bench_infra() as infra:
        pool = await asyncpg.create_pool(infra.database_url, min_size=8, max_size=8)
        print(f"PostgreSQL: {infra.database_url.split('@')[-1]}  ({seconds:.0f} s per run, "
              f"median of {ROUNDS} alternating runs per case)")
        rows = []
        for writers in (1, 8):
            for per_tx in (1, 10):
                # Alternate plain and append runs and keep the median of each: a shared
                # 2-core machine drifts by tens of percent between consecutive runs.
                plains, rates = [], []
                for _ in range(ROUNDS):
                    plains.append(await plain_rate(pool, writers, seconds))
                    rates.append(await append_rate(pool, writers, per_tx, seconds))
                rows.append((writers, per_tx, statistics.median(rates),
                             statistics.median(plains)))
        await pool.close()
    print(f"{'writers':>7} {'events/tx':>9} {'events/s':>10} {'plain INSERT/s':>15} {'ratio':>7}")
    for writers, per_tx, rate, plain in rows:
        print(f"{writers:>7} {per_tx:>9} {rate:>10,.0f} {plain:>15,.0f} {rate / plain:>6.0%}")
    eight_one = next(r for r in rows if r[0] == 8 and r[1] == 1)
    eight_ten = next(r for r in rows if r[0] == 8 and r[1] == 10)
    print(f"target 8 writers x 1/tx >= 50% of plain: {eight_one[2] / eight_one[3]:.0%}")
    print(f"target 10/tx >= 15,000 events/s: {eight_ten[2]:,.0f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=3.0)
    asyncio.run(main(parser.parse_args().seconds))
