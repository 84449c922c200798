"""Latency from a village submit (HTTP, through the gateway) to the case in the township queue.

Path measured: HTTP over loopback through the gateway (aiohttp client) to agri, then agri's
relay -> broker -> workflow's consumer -> the case row; arrival seen by polling that row.

    .venv/bin/python bench/slice_latency_bench.py [--rate 100] [--seconds 30]

Starts the infrastructure and the five services as separate processes (as `make run` does),
publishes a region-wide task, saves drafts for rate x seconds villages, then submits at a
steady rate. A watcher polls the workflow service's queue table (written in the same
transaction as the case event) and records when each case first becomes visible.

CPU: the stack's processes (the services, PostgreSQL with its backends, the broker; all
children of this one, the load generator left out) are sampled from /proc, idle for
--idle-seconds before any load and over the submit window; printed per process and as
CPU-seconds per 30 s.
"""
import argparse
import asyncio
import os
import re
import secrets
import subprocess
import sys
import time
import uuid

import aiohttp
import asyncpg

sys.path.insert(0, os.path.dirname(__file__))
from _infra import bench_infra, percentile, start_services  # noqa: E402

from gx_contracts.divisions import Level, load_divisions  # noqa: E402
from gx_contracts.roles import DEMO_PASSWORD  # noqa: E402

from gx_devstack import run as devrun  # noqa: E402
from gx_gateway.application.tokens import issue_access  # noqa: E402

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
VALUES = {"crop_area": 1000, "grain_area": 600, "early_rice_area": 300,
          "early_rice_output": 117000}


def village_tokens(n: int, secret: str) -> list[tuple[str, dict]]:
    villages = [d.code for d in load_divisions().values() if d.level == Level.village][:n]
    return [(code, {"Authorization": "Bearer " + issue_access(
        {"user_id": str(uuid.uuid4()), "username": f"bench_{code}",
         "role": "village_coordinator", "division": code}, secret, 3600)})
        for code in villages]


def stack_cpu() -> dict[str, float]:
    """CPU seconds used so far by each part of the stack below this process.

    A process's own time plus that of its children it has reaped (PostgreSQL's finished
    backends), so nothing is counted twice and nothing that exited is lost."""
    procs: dict[int, tuple[int, int, str]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        rest = stat[stat.rindex(")") + 2:].split()  # rest[0] is field 3 (state)
        procs[int(entry)] = (int(rest[1]), sum(int(x) for x in rest[11:15]), cmd)
    children: dict[int, list[int]] = {}
    for pid, (ppid, _, _) in procs.items():
        children.setdefault(ppid, []).append(pid)
    out: dict[str, float] = {}
    for top in children.get(os.getpid(), []):
        subtree, todo = [], [top]
        while todo:
            pid = todo.pop()
            subtree.append(pid)
            todo += children.get(pid, [])
        cmds = " ".join(procs[p][2] for p in subtree)
        name = next((m for m in ("tansu", "postgres") if m in cmds), None)
        if m := re.search(r"-m gx_(\w+)\.main", cmds):
            name = m[1]
        name = name or cmds.split(" ")[0].rsplit("/", 1)[-1] or str(top)
        out[name] = out.get(name, 0.0) + sum(procs[p][1] for p in subtree) / CLOCK_TICKS
    return out


def cpu_report(label: str, before: dict[str, float], after: dict[str, float],
               seconds: float) -> None:
    used = {k: after.get(k, 0.0) - before.get(k, 0.0) for k in after}
    total = sum(used.values())
    parts = ", ".join(f"{k} {v:.1f}" for k, v in sorted(used.items(), key=lambda kv: -kv[1]))
    print(f"stack CPU {label}: {total:.1f} CPU-s in {seconds:.1f} s = "
          f"{total * 30 / max(seconds, 1e-9):.1f} CPU-s per 30 s (load avg 1 min "
          f"{os.getloadavg()[0]:.2f}); by process: {parts}")


class Gateway:
    """A thin aiohttp client: the load generator must not eat the CPU it is measuring."""

    def __init__(self, base: str):
        self.base = base
        self.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=300),
                                             timeout=aiohttp.ClientTimeout(total=60))

    async def call(self, method: str, path: str, **kw) -> tuple[int, dict]:
        async with self.session.request(method, self.base + path, **kw) as r:
            return r.status, await r.json(content_type=None)


async def prepare(gw: Gateway, villages) -> tuple[str, list]:
    _, login = await gw.call("POST", "/api/v1/auth/login",
                             json={"username": "qu_tongji", "password": DEMO_PASSWORD})
    region = {"Authorization": f"Bearer {login['access_token']}"}
    t = time.perf_counter()
    status, task = await gw.call("POST", "/api/v1/agri/tasks", headers=region, json={
        "form_code": "A301", "period": "2026-EARLY", "title": "基准测试",
        "scope_division": "450000000000", "deadline": "2026-12-31T00:00:00+08:00"})
    assert status == 201, task
    print(f"published to the region in {time.perf_counter() - t:.2f} s (through the gateway)")
    task_id, sem = task["task_id"], asyncio.Semaphore(16)

    async def draft(code, auth):
        async with sem:
            _, tasks = await gw.call("GET", "/api/v1/agri/tasks", headers=auth)
            rid = next(i["report_id"] for i in tasks["items"] if i["task_id"] == task_id)
            status, body = await gw.call("PUT", f"/api/v1/agri/reports/{rid}/draft",
                                         headers=auth, json={"values": VALUES,
                                                             "explanations": {},
                                                             "expected_version": 0})
            assert status == 200, body
            return rid, auth

    return task_id, await asyncio.gather(*[draft(c, a) for c, a in villages])


async def watch(database_url: str, task_id: str, seen: dict, stop: asyncio.Event) -> None:
    """Every 20 ms, the cases that reached the queue recently (a window, deduplicated)."""
    conn = await asyncpg.connect(database_url)
    try:
        while not stop.is_set():
            rows = await conn.fetch("SELECT subject_id FROM workflow.cases WHERE task_id = $1 "
                                    "AND arrived_at > now() - interval '3 seconds'", task_id)
            now = time.perf_counter()
            for row in rows:
                seen.setdefault(row["subject_id"], now)
            await asyncio.sleep(0.02)
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


def start_profiles(where: str | None, pids: dict[str, int], seconds: float) -> list:
    """py-spy on each service over the load window (collapsed stacks, `where`/<service>.txt):
    where each process spends. py-spy is not in the requirements: `pip install py-spy`."""
    if not where:
        return []
    os.makedirs(where, exist_ok=True)
    spy = os.path.join(os.path.dirname(sys.executable), "py-spy")
    return [subprocess.Popen([spy, "record", "--pid", str(pid), "--duration",
                              str(int(seconds) + 1), "--rate", "50", "--format", "raw",
                              "--nonblocking", "--output", os.path.join(where, f"{name}.txt")],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for name, pid in pids.items()]


async def drive(gateway: str, database_url: str, rate: float, seconds: float, secret: str,
                idle_seconds: float = 0.0, profile: str | None = None,
                pids: dict[str, int] | None = None):
    gw = Gateway(gateway)
    try:
        if idle_seconds > 0:
            await asyncio.sleep(2.0)  # past the start-up's last steps
            idle_at, idle_cpu = time.perf_counter(), stack_cpu()
            await asyncio.sleep(idle_seconds)
            cpu_report("idle", idle_cpu, stack_cpu(), time.perf_counter() - idle_at)
        task_id, drafts = await prepare(gw, village_tokens(int(rate * seconds), secret))
        sent: dict[str, float] = {}
        seen: dict[str, float] = {}
        stop = asyncio.Event()
        watcher = asyncio.create_task(watch(database_url, task_id, seen, stop))
        statuses: list = []
        http_ms: list[float] = []

        async def submit(rid, auth):
            sent[rid] = time.perf_counter()
            try:
                status, _ = await gw.call("POST", f"/api/v1/agri/reports/{rid}/submit",
                                          json={"expected_version": 1},
                                          headers={**auth, "Idempotency-Key": uuid.uuid4().hex})
                statuses.append(status)
            except (TimeoutError, aiohttp.ClientError) as exc:
                statuses.append(type(exc).__name__)
            http_ms.append((time.perf_counter() - sent[rid]) * 1000)

        spies = start_profiles(profile, pids or {}, seconds)
        start, tasks, start_cpu = time.perf_counter(), [], stack_cpu()
        for i, (rid, auth) in enumerate(drafts):
            await asyncio.sleep(max(0.0, start + i / rate - time.perf_counter()))
            tasks.append(asyncio.create_task(submit(rid, auth)))
        sending = time.perf_counter() - start + 1 / rate  # longer than asked if we fell behind
        await asyncio.gather(*tasks)
        for _ in range(600):
            if len(seen) >= len(sent):
                break
            await asyncio.sleep(0.05)
        cpu_report("under load (submits until the last case arrived)", start_cpu, stack_cpu(),
                   time.perf_counter() - start)
        for spy in spies:  # after the CPU window: py-spy's own CPU (counted) stays out of it
            await asyncio.to_thread(spy.wait)
        stop.set()
        await watcher
        await stage_breakdown(database_url)
    finally:
        await gw.session.close()
    print(f"HTTP submit round trip: p50 {percentile(http_ms, 50):.0f} ms, "
          f"p99 {percentile(http_ms, 99):.0f} ms")
    # A case that never reached the queue is infinitely late, not left out of the percentiles.
    lat = [(seen[r] - t) * 1000 if r in seen else float("inf") for r, t in sent.items()]
    ok = sum(s == 200 for s in statuses)
    failed = sorted({str(s) for s in statuses if s != 200})
    print(f"submits: {len(sent)} asked at {rate:.0f}/s for {seconds:.0f} s, sent at "
          f"{len(sent) / sending:.1f}/s; HTTP 200: {ok}; cases visible: {len(seen)}; "
          f"never reached the queue: {len(sent) - len(seen)}"
          + (f"; other answers: {failed}" if failed else ""))
    print(f"submit -> township queue latency (n={len(lat)}): p50 {percentile(lat, 50):.0f} ms, "
          f"p99 {percentile(lat, 99):.0f} ms, max {max(lat):.0f} ms (target p99 <= 250 ms; "
          f"inf = some never arrived)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--idle-seconds", type=float, default=10.0,
                        help="stack CPU sampled this long before the load (0: not sampled)")
    parser.add_argument("--py-spy", metavar="DIR", help="profile each service over the load "
                        "window into DIR/<service>.txt (collapsed stacks; py-spy installed)")
    args = parser.parse_args()
    secret = secrets.token_hex(32)
    with bench_infra() as infra:
        procs, urls = start_services(infra, GX_JWT_SECRET=secret, GX_RATE_USER_BURST="100000")
        gateway = urls["gateway"]
        try:
            asyncio.run(drive(gateway, infra.database_url, args.rate, args.seconds, secret,
                              args.idle_seconds, args.py_spy,
                              {name: proc.pid for name, proc in procs.items()}))
        finally:
            devrun.stop_services(procs)


if __name__ == "__main__":
    main()
