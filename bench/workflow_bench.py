"""Workflow bench: cases through the chain (events/s), region progress query (p50/p99), and
the lag from a reviewer's HTTP action to the progress view pushed over SSE (p50/p99).

    .venv/bin/python bench/workflow_bench.py [--cases 10000] [--writers 8] [--lag-actions 150]
                                             [--streams 10]

Uses DATABASE_URL / KAFKA_BOOTSTRAP_SERVERS if set, else starts the embedded stack
(gx_devstack). The chain part runs the application layer (the same code the HTTP routes call);
the lag part runs the real workflow app under uvicorn and calls it over HTTP.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import statistics
import time
import uuid

import asyncpg
import httpx
import uvicorn

from gx_contracts.commands.workflow import AcceptCase, ApproveCase
from gx_contracts.divisions import load_divisions
from gx_contracts.events.base import Submission
from gx_kernel.eventstore import EventStore
from gx_kernel.idempotency import ddl as idem_ddl
from gx_kernel.identity import Principal, sign_principal

from gx_workflow.adapters.schema import setup_schema
from gx_workflow.application import queries
from gx_workflow.application.cases import act, intake_submission, now_utc
from gx_workflow.domain import commands as dc
from gx_workflow.domain.chains import load_chain_file
from gx_workflow.main import create_app
from gx_workflow.settings import WorkflowSettings

CHAIN = [("township", "township_statistician", 9, "approve"),
         ("county", "county_statistician", 6, "approve"),
         ("region", "region_statistician", 2, "accept")]


async def _pool_for(url: str, n: int) -> asyncpg.Pool:
    return await asyncpg.create_pool(url, min_size=n, max_size=n + 2)


async def run(infra, n_cases: int, writers: int, lag_actions: int, streams: int) -> None:
    url = infra.database_url
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
    await lag(infra, schema, task, ids[n_cases:], lag_actions, streams)
    async with pool.acquire() as conn:
        await conn.execute(f"DROP SCHEMA {schema} CASCADE")  # leave the dev database clean
    await pool.close()


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


@contextlib.asynccontextmanager
async def _serve(app):
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None,
                                           access_log=False))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, 10)


async def lag(infra, schema: str, task: uuid.UUID, waiting: list, n_actions: int,
              n_streams: int) -> None:
    """Approve/return cases over HTTP at random intervals while `n_streams` region-wide SSE
    streams watch; lag = action start -> the pushed snapshot that includes the change."""
    settings = WorkflowSettings(GX_DB_SCHEMA=schema, GX_TOPIC_PREFIX=f"{schema}.",
                                DATABASE_URL=infra.database_url, GX_RELAY_ENABLED=False,
                                KAFKA_BOOTSTRAP_SERVERS=infra.kafka_bootstrap,
                                GX_WORKFLOW_OVERDUE_INTERVAL=3600)
    app = create_app(settings)
    started: dict[str, float] = {}
    lags: list[float] = []

    def hdr(role: str, scope: str) -> dict:
        return {"X-Gx-Principal": sign_principal(Principal("bench-" + role, role, role, scope),
                                                 settings.internal_secret, ttl_seconds=3600)}

    async def watch(client: httpx.AsyncClient, ready: asyncio.Event) -> None:
        seen: list[str] = []
        async with client.stream("GET", "/api/v1/workflow/progress/stream",
                                 params={"task_id": str(task), "division": "450000000000"},
                                 headers=hdr("region_statistician", "450000000000")) as resp:
            event = None
            async for line in resp.aiter_lines():
                if line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:") and event == "case":
                    seen.append(json.loads(line[5:])["case_id"])
                elif line.startswith("data:") and event == "progress":
                    ready.set()
                    now = time.perf_counter()
                    lags.extend(now - started[c] for c in seen if c in started)
                    seen.clear()

    async with _serve(app) as base:
        async with httpx.AsyncClient(base_url=base, timeout=30,
                                     limits=httpx.Limits(max_connections=n_streams + 8)) as client:
            readies = [asyncio.Event() for _ in range(n_streams)]
            watchers = [asyncio.create_task(watch(client, r)) for r in readies]
            await asyncio.gather(*[r.wait() for r in readies])
            rng = random.Random(7)
            for i, (case_id, code) in enumerate(waiting[:n_actions]):
                await asyncio.sleep(rng.uniform(0.02, 0.25))
                path = f"/api/v1/workflow/cases/{case_id}/"
                body = {"expected_version": 1}
                if i % 3 == 2:
                    path, body = path + "return", {**body, "reason_code": "R01", "reason": "bench"}
                else:
                    path += "approve"
                started[str(case_id)] = time.perf_counter()
                r = await client.post(path, json=body,
                                      headers=hdr("township_statistician", code[:9]))
                assert r.status_code == 200, r.text
            expected = n_actions * n_streams
            for _ in range(100):
                if len(lags) >= expected:
                    break
                await asyncio.sleep(0.05)
            for w in watchers:
                w.cancel()
            await asyncio.gather(*watchers, return_exceptions=True)
    ms = [x * 1000 for x in lags]
    print(f"action -> progress view (SSE, {n_streams} region-wide streams, {n_actions} "
          f"approve/return over HTTP at random 20-250 ms intervals): seen {len(ms)}/{expected}, "
          f"p50 {statistics.median(ms):.0f} ms, p99 {_pct(ms, 99):.0f} ms, "
          f"max {max(ms):.0f} ms (target p99 <= 500 ms)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=10_000)
    ap.add_argument("--writers", type=int, default=8)
    ap.add_argument("--lag-actions", type=int, default=150)
    ap.add_argument("--streams", type=int, default=10)
    args = ap.parse_args()
    from gx_devstack.infra import start_infra  # takes DATABASE_URL / KAFKA_* when set
    with start_infra(fresh=False) as infra:
        asyncio.run(run(infra, args.cases, args.writers, args.lag_actions, args.streams))


if __name__ == "__main__":
    main()
