"""Projection rebuild throughput: events/s replayed from the event store into a read model.

    .venv/bin/python bench/rebuild_bench.py [--events 500000] [--batch-size 10000]

Seeds N events (1,000 streams, in transactions of 10,000, as many commits would leave them)
into a schema made by the kernel's migrations, then rebuilds a synthetic read model from
them with gx_kernel.projections.rebuild: a per-event log row (COPY) and a per-stream total
(executemany upsert), in one transaction, read with a server-side cursor.
Goal (issue 9): >= 50,000 events/s. Also printed: events per CPU-second of the replaying
process (the database works in its own processes meanwhile), which a busy machine skews less.
"""
import argparse
import asyncio
import os
import sys
import time
import uuid

import asyncpg

sys.path.insert(0, os.path.dirname(__file__))
from _infra import bench_infra  # noqa: E402

from gx_kernel.eventstore import EventStore  # noqa: E402
from gx_kernel.migrations import run_migrations  # noqa: E402
from gx_kernel.projections import ProjectionRegistry, rebuild  # noqa: E402

SCHEMA = "rebuild_bench"
STREAMS = 1000


def registry_for(schema: str) -> ProjectionRegistry:
    registry = ProjectionRegistry()

    @registry.reset
    async def reset(conn):
        await conn.execute(f"TRUNCATE {schema}.item_log, {schema}.item_totals")

    @registry.batch("bench.item.counted")
    async def project(conn, events):
        await conn.copy_records_to_table(
            "item_log", schema_name=schema, columns=("event_id", "stream_id", "n"),
            records=[(e.id, e.stream_id, e.data["n"]) for e in events])
        totals: dict[str, list[int]] = {}
        for e in events:
            row = totals.setdefault(e.stream_id, [0, 0])
            row[0] += 1
            row[1] += e.data["n"]
        await conn.executemany(
            f"INSERT INTO {schema}.item_totals AS t (stream_id, events, total) "
            f"VALUES ($1, $2, $3) ON CONFLICT (stream_id) DO UPDATE "
            f"SET events = t.events + excluded.events, total = t.total + excluded.total",
            [(k, v[0], v[1]) for k, v in totals.items()])

    return registry


async def seed(pool: asyncpg.Pool, events: int) -> None:
    async with pool.acquire() as conn:
        await conn.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
    await run_migrations(pool, SCHEMA)
    async with pool.acquire() as conn:
        await conn.execute(
            f"CREATE TABLE {SCHEMA}.item_log (event_id uuid, stream_id text, n int); "
            f"CREATE TABLE {SCHEMA}.item_totals (stream_id text PRIMARY KEY, "
            f"events bigint NOT NULL, total bigint NOT NULL)")
        chunk = 10_000
        for start in range(0, events, chunk):
            async with conn.transaction():
                await conn.execute(f"""
                    INSERT INTO {SCHEMA}.events (id, stream_id, version, type, schema_version,
                                                data, metadata)
                    SELECT gen_random_uuid(), 'item-' || (i % {STREAMS}), i / {STREAMS} + 1,
                           'bench.item.counted', 1,
                           jsonb_build_object('n', i % 97, 'village_code', '450103103201'),
                           jsonb_build_object('actor', '{uuid.uuid4()}', 'role', 'grid_worker',
                                              'correlation_id', md5(i::text))
                    FROM generate_series($1::int, $2::int) AS i""",
                                   start, min(start + chunk, events) - 1)
        await conn.execute(f"ANALYZE {SCHEMA}.events")


async def main(events: int, batch_size: int, rounds: int) -> None:
    with bench_infra() as infra:
        pool = await asyncpg.create_pool(infra.database_url, min_size=1, max_size=4)
        try:
            await seed(pool, events)
            store, registry = EventStore(pool, SCHEMA), registry_for(SCHEMA)
            rates, cpu_rates = [], []
            for r in range(rounds):
                cpu = time.process_time()
                result = await rebuild(store, registry, batch_size=batch_size)
                cpu = time.process_time() - cpu
                assert result.events == events
                rates.append(result.per_second)
                cpu_rates.append(events / cpu)
                print(f"  round {r + 1}: {result.events} events in {result.seconds:.2f} s "
                      f"= {result.per_second:,.0f} events/s; {cpu:.2f} s CPU in this process "
                      f"({events / cpu:,.0f} events per CPU-second)")
            async with pool.acquire() as conn:
                logged = await conn.fetchval(f"SELECT count(*) FROM {SCHEMA}.item_log")
                summed = await conn.fetchval(f"SELECT sum(events) FROM {SCHEMA}.item_totals")
            assert logged == summed == events
            best = sorted(rates)[len(rates) // 2]
            per_cpu = sorted(cpu_rates)[len(cpu_rates) // 2]
            load = os.getloadavg()[0]
            print(f"rebuild: {events} events, batch {batch_size}: median {best:,.0f} events/s "
                  f"(goal >= 50,000) {'OK' if best >= 50_000 else 'BELOW GOAL'}; "
                  f"{per_cpu:,.0f} events per CPU-second of the replaying process; "
                  f"load average {load:.1f} on {os.cpu_count()} cores")
        finally:
            await pool.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=500_000)
    parser.add_argument("--batch-size", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(main(args.events, args.batch_size, args.rounds))
