"""Latency from a village submit (HTTP, through the gateway) to the case in the township queue.

    .venv/bin/python bench/slice_latency_bench.py [--rate 100] [--seconds 30]

Starts the infrastructure and the five services as separate processes (as `make run` does),
publishes a region-wide task, saves drafts for rate x seconds villages, then submits at a
steady rate. A watcher polls the workflow service's queue table (written in the same
transaction as the case event) and records when each case first becomes visible.
"""
import argparse
import asyncio
import os
import secrets
import sys
import threading
import time
import uuid

import asyncpg
import httpx

sys.path.insert(0, os.path.dirname(__file__))
from _infra import bench_infra, percentile  # noqa: E402

from gx_contracts.divisions import Level, load_divisions  # noqa: E402
from gx_contracts.roles import DEMO_PASSWORD  # noqa: E402
from gx_devstack import run as devrun  # noqa: E402
from gx_devstack.procs import free_port  # noqa: E402
from gx_gateway.application.tokens import issue_access  # noqa: E402

VALUES = {"crop_area": 1000, "grain_area": 600, "early_rice_area": 300,
          "early_rice_output": 117000}


def start_services(infra, jwt_secret: str):
    os.environ["GX_JWT_SECRET"] = jwt_secret
    os.environ["GX_RATE_USER_BURST"] = "100000"
    ports = {name: free_port() for name in devrun.SERVICES}
    procs = {name: devrun.spawn(name, env)
             for name, env in devrun.service_envs(infra, ports).items()}
    for name, proc in procs.items():
        threading.Thread(target=proc.stdout.read, daemon=True).start()  # drain, keep quiet
    problem = devrun.wait_ready(procs, ports, threading.Event(), 120)
    if problem:
        devrun.stop_services(procs)
        raise SystemExit(problem)
    return procs, f"http://127.0.0.1:{ports['gateway']}"


def village_tokens(n: int, secret: str) -> list[tuple[str, dict]]:
    villages = [d.code for d in load_divisions().values() if d.level == Level.village][:n]
    return [(code, {"Authorization": "Bearer " + issue_access(
        {"user_id": str(uuid.uuid4()), "username": f"bench_{code}",
         "role": "village_coordinator", "division": code}, secret, 3600)})
        for code in villages]


async def prepare(client: httpx.AsyncClient, villages) -> tuple[str, list]:
    login = await client.post("/api/v1/auth/login",
                              json={"username": "qu_tongji", "password": DEMO_PASSWORD})
    region = {"Authorization": f"Bearer {login.json()['access_token']}"}
    t = time.perf_counter()
    r = await client.post("/api/v1/agri/tasks", headers=region, json={
        "form_code": "A301", "period": "2026-EARLY", "title": "基准测试",
        "scope_division": "450000000000", "deadline": "2026-12-31T00:00:00+08:00"})
    assert r.status_code == 201, r.text
    print(f"published to the region in {time.perf_counter() - t:.2f} s (through the gateway)")
    task_id, sem = r.json()["task_id"], asyncio.Semaphore(16)

    async def draft(code, auth):
        async with sem:
            items = (await client.get("/api/v1/agri/tasks", headers=auth)).json()["items"]
            rid = next(i["report_id"] for i in items if i["task_id"] == task_id)
            d = await client.put(f"/api/v1/agri/reports/{rid}/draft", headers=auth, json={
                "values": VALUES, "explanations": {}, "expected_version": 0})
            assert d.status_code == 200, d.text
            return rid, auth

    return task_id, await asyncio.gather(*[draft(c, a) for c, a in villages])


async def watch(database_url: str, sent: dict, seen: dict, stop: asyncio.Event) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        while not stop.is_set():
            rows = await conn.fetch("SELECT subject_id FROM workflow.cases "
                                    "WHERE subject_id = ANY($1::text[])",
                                    [r for r in sent if r not in seen])
            now = time.perf_counter()
            for row in rows:
                seen.setdefault(row["subject_id"], now)
            await asyncio.sleep(0.005)
    finally:
        await conn.close()


async def stage_breakdown(database_url: str) -> None:
    """Where the time goes: agri commit -> relay -> Kafka -> workflow case (database clocks)."""
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            "SELECT extract(epoch FROM w.recorded_at - a.recorded_at) * 1000 AS ms "
            "FROM agri.events a JOIN workflow.events w "
            "ON w.type = 'workflow.case.opened' "
            "AND w.data->'submission'->>'subject_id' = a.data->>'report_id' "
            "WHERE a.type = 'agri.report.submitted'")
    finally:
        await conn.close()
    ms = [float(r["ms"]) for r in rows]
    print(f"agri event -> workflow case event: p50 {percentile(ms, 50):.0f} ms, "
          f"p99 {percentile(ms, 99):.0f} ms")


async def drive(gateway: str, database_url: str, rate: float, seconds: float, secret: str):
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    async with httpx.AsyncClient(base_url=gateway, timeout=30, limits=limits) as client:
        task_id, drafts = await prepare(client, village_tokens(int(rate * seconds), secret))
        sent: dict[str, float] = {}
        seen: dict[str, float] = {}
        stop = asyncio.Event()
        watcher = asyncio.create_task(watch(database_url, sent, seen, stop))
        statuses: list[int] = []
        http_ms: list[float] = []

        async def submit(rid, auth):
            sent[rid] = time.perf_counter()
            r = await client.post(f"/api/v1/agri/reports/{rid}/submit", json={
                "expected_version": 1}, headers={**auth, "Idempotency-Key": uuid.uuid4().hex})
            http_ms.append((time.perf_counter() - sent[rid]) * 1000)
            statuses.append(r.status_code)

        start, tasks = time.perf_counter(), []
        for i, (rid, auth) in enumerate(drafts):
            await asyncio.sleep(max(0.0, start + i / rate - time.perf_counter()))
            tasks.append(asyncio.create_task(submit(rid, auth)))
        await asyncio.gather(*tasks)
        for _ in range(600):
            if len(seen) >= len(sent):
                break
            await asyncio.sleep(0.05)
        stop.set()
        await watcher
        await stage_breakdown(database_url)
    print(f"HTTP submit round trip: p50 {percentile(http_ms, 50):.0f} ms, "
          f"p99 {percentile(http_ms, 99):.0f} ms")
    lat = [(seen[r] - t) * 1000 for r, t in sent.items() if r in seen]
    ok = sum(s == 200 for s in statuses)
    print(f"submits: {len(sent)} at {rate:.0f}/s for {seconds:.0f} s; HTTP 200: {ok}; "
          f"cases visible: {len(lat)}")
    print(f"submit -> township queue latency: p50 {percentile(lat, 50):.0f} ms, "
          f"p99 {percentile(lat, 99):.0f} ms, max {max(lat):.0f} ms (target p99 <= 250 ms)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    secret = secrets.token_hex(32)
    with bench_infra() as infra:
        procs, gateway = start_services(infra, secret)
        try:
            asyncio.run(drive(gateway, infra.database_url, args.rate, args.seconds, secret))
        finally:
            devrun.stop_services(procs)


if __name__ == "__main__":
    main()
