"""Added latency of the gateway (网关附加延迟) over calling the service directly.

The whole stack (tests/e2e/stack.py: five services + gateway) runs in a child process on the
embedded PostgreSQL and broker (or DATABASE_URL / KAFKA_BOOTSTRAP_SERVERS); the load generator
runs here, so its own CPU does not sit on the servers' event loop. A cheap GET — the township's review queue — is sent
at a steady rate (open loop: requests start on schedule, whether or not earlier ones finished)
through the gateway (bearer token) and straight to the workflow service (signed principal),
interleaved so both see the same machine load. Added latency = gateway percentile - direct one.
Target (issue 5): p50 <= 1 ms, p99 <= 5 ms added.

    .venv/bin/python bench/gateway_bench.py [--rate 200] [--seconds 10]
"""
from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._infra import bench_infra, percentile  # noqa: E402
from gx_contracts.roles import DEMO_PASSWORD  # noqa: E402
from gx_kernel.identity import PRINCIPAL_HEADER, Principal, sign_principal  # noqa: E402

PATH = "/api/v1/workflow/queue"
USER = "changtang_zhen"


async def steady(client: httpx.AsyncClient, headers, rate: float, seconds: float
                 ) -> tuple[list[float], int]:
    """Latencies (ms) of requests started every 1/rate s for `seconds`; and the error count."""
    latencies: list[float] = []
    errors = 0

    async def one() -> None:
        nonlocal errors
        t0 = time.perf_counter()
        try:
            r = await client.get(PATH, headers=headers() if callable(headers) else headers)
            errors += r.status_code != 200
        except httpx.HTTPError:
            errors += 1
        latencies.append((time.perf_counter() - t0) * 1000)

    tasks, start, n = [], time.perf_counter(), int(rate * seconds)
    for i in range(n):
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one()))
    await asyncio.gather(*tasks)
    return latencies, errors


def row(name: str, lat: list[float]) -> tuple[float, float]:
    p50, p99 = percentile(lat, 50), percentile(lat, 99)
    print(f"  {name:<8} n={len(lat):5d}  p50={p50:7.2f} ms  p90={percentile(lat, 90):7.2f} ms  "
          f"p99={p99:7.2f} ms  max={max(lat):7.2f} ms")
    return p50, p99


def serve_stack(conn, database_url: str, kafka_bootstrap: str) -> None:
    """Child process: run the stack until the parent says stop."""
    sys.path.insert(0, str(ROOT))
    from tests.e2e.stack import running_stack

    async def run() -> None:
        infra = SimpleNamespace(database_url=database_url, kafka_bootstrap=kafka_bootstrap)
        async with running_stack(infra) as st:
            conn.send((st.gateway_url, st.urls["workflow"], st.internal_secret))
            await asyncio.get_running_loop().run_in_executor(None, conn.recv)
    asyncio.run(run())


async def measure(gateway_url: str, workflow_url: str, secret: str, rate: float,
                  seconds: float, rounds: int) -> None:
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    async with httpx.AsyncClient(base_url=gateway_url, limits=limits, timeout=30) as gw, \
            httpx.AsyncClient(base_url=workflow_url, limits=limits, timeout=30) as direct:
        r = await gw.post("/api/v1/auth/login", json={"username": USER, "password": DEMO_PASSWORD})
        token = {"Authorization": f"Bearer {r.json()['access_token']}"}
        me = (await gw.get("/api/v1/me", headers=token)).json()
        principal = Principal(me["user_id"], me["username"], me["role"], me["division"])

        def signed():  # a fresh signature per request, as the gateway makes one
            return {PRINCIPAL_HEADER: sign_principal(principal, secret)}
        for c, h in ((gw, token), (direct, signed)):  # warm up connections and caches
            await steady(c, h, rate, 1.0)
        via, straight, errors = [], [], 0
        per = seconds / rounds
        for _ in range(rounds):  # interleave so both see the same background load
            lat, e = await steady(gw, token, rate, per)
            via += lat
            errors += e
            lat, e = await steady(direct, signed, rate, per)
            straight += lat
            errors += e
    print(f"gateway bench: GET {PATH} as {USER}, {rate:.0f} req/s, {seconds:.0f} s each way, "
          f"errors={errors}")
    g50, g99 = row("gateway", via)
    d50, d99 = row("direct", straight)
    a50, a99 = g50 - d50, g99 - d99
    print(f"  added    p50={a50:7.2f} ms (target <= 1 ms: {'OK' if a50 <= 1 else 'MISSED'})  "
          f"p99={a99:7.2f} ms (target <= 5 ms: {'OK' if a99 <= 5 else 'MISSED'})")


def main(infra, rate: float, seconds: float, rounds: int) -> None:
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=serve_stack, args=(child, infra.database_url,
                                                  infra.kafka_bootstrap), daemon=True)
    proc.start()
    try:
        if not parent.poll(120):
            raise TimeoutError("stack did not start")
        gateway_url, workflow_url, secret = parent.recv()
        asyncio.run(measure(gateway_url, workflow_url, secret, rate, seconds, rounds))
    finally:
        parent.send("stop")
        proc.join(30)
        if proc.is_alive():
            proc.terminate()


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rate", type=float, default=200.0)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    with bench_infra() as _infra:
        main(_infra, args.rate, args.seconds, args.rounds)
