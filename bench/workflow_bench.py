"""Workflow bench: cases through the chain (events/s) and region progress query (p50/p99).

    .venv/bin/python bench/workflow_bench.py [--cases 10000] [--writers 8]

Uses DATABASE_URL if set, else starts the embedded PostgreSQL (gx_devstack). Runs the
application layer (the same code the HTTP routes call), without HTTP and Kafka.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
import uuid

import asyncpg

from gx_contracts.commands.workflow import AcceptCase, ApproveCase
from gx_contracts.divisions import load_divisions
from gx_contracts.events.base import Submission
from gx_kernel.eventstore import EventStore
from gx_kernel.idempotency import ddl as idem_ddl
from gx_kernel.identity import Principal
from gx_workflow.adapters.schema import setup_schema
from gx_workflow.application import queries
from gx_workflow.application.cases import act, intake_submission, now_utc
from gx_workflow.domain import commands as dc
from gx_workflow.domain.chains import load_chain_file

CHAIN = [("township", "township_statistician", 9, "approve"),
         ("county", "county_statistician", 6, "approve"),
         ("region", "region_statistician", 2, "accept")]


async def _pool_for(url: str, n: int) -> asyncpg.Pool:
    return await asyncpg.create_pool(url, min_size=n, max_size=n + 2)


async def run(url: str, n_cases: int, writers: int) -> None:
    schema = f"bench{uuid.uuid4().hex[:6]}_workflow"
    pool = await _pool_for(url, writers)
    store = EventStore(pool, schema)
    await store.setup()
    async with pool.acquire() as conn:
        await conn.execute(idem_ddl(schema))
        await setup_schema(conn, schema, load_chain_file())
    villages = [d.code for d in load_divisions().values() if d.level.value == "village"]
    task = uuid.uuid4()

    async def open_all(codes):
        for code in codes:
            sub = Submission(subject_kind="agri.report", subject_id=str(uuid.uuid4()),
                             division_code=code, task_id=task, revision=1, title="bench")
            async with pool.acquire() as conn:
                async with conn.transaction():
                    case = await intake_submission(store, conn, sub, {"actor": "bench"},
                                                   now_utc())
            ids.append((case.case_id, code))

    ids: list = []
    t0 = time.perf_counter()
    await asyncio.gather(*[open_all(villages[i::writers]) for i in range(writers)])
    t_open = time.perf_counter() - t0
    print(f"opened {len(ids)} cases (1 event each) in {t_open:.1f}s: "
          f"{len(ids) / t_open:,.0f} events/s with {writers} writers")

    chain_cases = ids[:n_cases]

    async def climb(part):
        for case_id, code in part:
            for version, (_, role, plen, action) in enumerate(CHAIN, start=1):
                p = Principal("bench-" + role, role, role, code[:plen])
                if action == "approve":
                    body = ApproveCase(expected_version=version)
                    await act(store, p, case_id, action, body, None,
                              lambda c, a, now, b=body: dc.approve(c, a, b.expected_version, "", now))
                else:
                    body = AcceptCase(expected_version=version)
                    await act(store, p, case_id, action, body, None,
                              lambda c, a, now, b=body: dc.accept(c, a, b.expected_version, "", now))

    t0 = time.perf_counter()
    await asyncio.gather(*[climb(chain_cases[i::writers]) for i in range(writers)])
    t_chain = time.perf_counter() - t0
    events = len(chain_cases) * len(CHAIN)
    print(f"{len(chain_cases)} cases through township->county->region: {events} actions in "
          f"{t_chain:.1f}s wall = {events / t_chain:,.0f} events/s "
          f"(open+chain: {(len(chain_cases) * 4) / (t_chain + t_open * len(chain_cases) / len(ids)):,.0f} events/s)")

    async with pool.acquire() as conn:
        await conn.execute(f"ANALYZE {schema}.cases")
        for division, label in (("450000000000", "region (14 cities, 16,681 villages)"),
                                ("450103000000", "one county")):
            times = []
            for _ in range(200):
                t = time.perf_counter()
                result = await queries.progress(conn, schema, str(task), division)
                times.append((time.perf_counter() - t) * 1000)
            times.sort()
            print(f"progress {label}: p50 {statistics.median(times):.1f} ms, "
                  f"p99 {times[int(len(times) * 0.99) - 1]:.1f} ms "
                  f"(submitted={result['total']['submitted']}, "
                  f"accepted={result['total']['accepted']})")
        await conn.execute(f"DROP SCHEMA {schema} CASCADE")  # leave the dev database clean
    await pool.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=10_000)
    ap.add_argument("--writers", type=int, default=8)
    args = ap.parse_args()
    url = os.environ.get("DATABASE_URL")
    if url:
        asyncio.run(run(url, args.cases, args.writers))
        return
    from gx_devstack.infra import start_infra
    with start_infra(fresh=False) as infra:
        asyncio.run(run(infra.database_url, args.cases, args.writers))


if __name__ == "__main__":
    main()
