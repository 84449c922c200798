"""Soak: submits at a steady rate with review actions, through the gateway, for minutes.

Path measured: HTTP over loopback through the gateway (a light aiohttp client) to agri (submit;
the drafts are saved through the gateway before the clock starts) and workflow (the township
approves each case once it is in its queue); the five services run as separate processes (as
`make run` starts them) on the embedded PostgreSQL and Tansu, or on DATABASE_URL /
KAFKA_BOOTSTRAP_SERVERS. Arrival in the township queue is seen by
polling workflow.cases by transaction id (gap-free, as the live progress stream reads it).

    .venv/bin/python bench/soak_bench.py [--rate 100] [--minutes 10]      # GX_SOAK_MINUTES
    .venv/bin/python bench/soak_bench.py --ceiling [--start 100] [--step 50] [--max 300]
                                            [--step-seconds 30]

Per minute: submits sent and the achieved rate, errors, submit HTTP p50/p99, submit -> queue
p50/p99 (a case not in the queue 5 s after the minute counts as infinitely late), approve p99,
and each process's memory. At the end: each process's memory slope (least squares over 5 s
samples). --ceiling steps the rate up until a step fails; the ceiling is the highest rate with
no error, every case in the queue, and submit -> queue p99 <= 250 ms.
"""
from __future__ import annotations

import argparse
import asyncio
import math
import os
import secrets
import statistics
import sys
import time
import uuid
from dataclasses import dataclass

import aiohttp
import asyncpg
import psutil

sys.path.insert(0, os.path.dirname(__file__))
from _infra import bench_infra, percentile, start_services  # noqa: E402
from slice_latency_bench import VALUES, Gateway, stack_cpu  # noqa: E402

from gx_contracts.divisions import Level, load_divisions  # noqa: E402
from gx_contracts.roles import DEMO_PASSWORD  # noqa: E402

from gx_devstack import run as devrun  # noqa: E402
from gx_gateway.application.tokens import issue_access  # noqa: E402

P99_GOAL_MS = 250.0
GRACE = 5.0  # seconds after a minute before its line is printed
MIB = 1024 * 1024


@dataclass
class Op:
    """One village's submit, and the township's approval of the case it opens."""

    rid: str
    village: str
    township: str
    t: float = 0.0  # submit sent
    http_ms: float | None = None
    error: str | None = None
    seen: float | None = None
    approve_ms: float | None = None
    approve_error: str | None = None

    @property
    def queue_ms(self) -> float:
        return (self.seen - self.t) * 1000 if self.seen is not None else math.inf


def token(secret: str, role: str, division: str, name: str) -> dict:
    return {"Authorization": "Bearer " + issue_access(
        {"user_id": str(uuid.uuid4()), "username": name, "role": role, "division": division},
        secret, 4 * 3600)}


def period(n: int) -> str:
    """A distinct report period of form A301 for the n-th task."""
    year, season = 2026 - n // 4, ("EARLY", "SPRING", "AUTUMN", None)[n % 4]
    return f"{year}-{season}" if season else str(year)


async def publish(gw: Gateway, database_url: str, needed: int) -> tuple[list[str], list[Op]]:
    """Region-wide tasks (one report per village each) until `needed` reports exist."""
    _, login = await gw.call("POST", "/api/v1/auth/login",
                             json={"username": "qu_tongji", "password": DEMO_PASSWORD})
    region = {"Authorization": f"Bearer {login['access_token']}"}
    divisions = load_divisions()
    villages = sum(d.level == Level.village for d in divisions.values())
    task_ids = []
    for n in range(math.ceil(needed / villages)):
        t = time.perf_counter()
        status, task = await gw.call("POST", "/api/v1/agri/tasks", headers=region, json={
            "form_code": "A301", "period": period(n), "title": f"浸泡测试 {n}",
            "scope_division": "450000000000", "deadline": "2026-12-31T00:00:00+08:00"})
        assert status == 201, task
        task_ids.append(task["task_id"])
        print(f"task {n + 1}: {villages} reports published in {time.perf_counter() - t:.1f} s")
    conn = await asyncpg.connect(database_url)
    try:  # set-up only: which report is whose (the load itself goes through the gateway)
        rows = await conn.fetch("SELECT report_id::text AS rid, village_code FROM agri.reports "
                                "WHERE task_id = ANY($1::uuid[]) ORDER BY task_id, village_code",
                                task_ids)
    finally:
        await conn.close()
    ops = [Op(r["rid"], r["village_code"], divisions[r["village_code"]].parent_code)
           for r in rows]
    return task_ids, ops[:needed]


class Soak:
    def __init__(self, gw: Gateway, database_url: str, secret: str, task_ids: list[str],
                 ops: list[Op]):
        self.gw, self.database_url, self.task_ids = gw, database_url, task_ids
        self.pending = list(reversed(ops))
        self.by_rid = {op.rid: op for op in ops}
        self.auth = {op.village: token(secret, "village_coordinator", op.village,
                                       f"soak_{op.village}") for op in ops}
        self.auth.update({op.township: token(secret, "township_statistician", op.township,
                                             f"soak_{op.township}") for op in ops})
        self.tasks: set[asyncio.Task] = set()

    def spawn(self, coro) -> None:
        task = asyncio.create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def draft_all(self, ops: list[Op], concurrency: int = 32) -> None:
        """Set-up: every village's draft, through the gateway, before the clock starts."""
        sem, t, failed = asyncio.Semaphore(concurrency), time.perf_counter(), []

        async def one(op: Op) -> None:
            async with sem:
                status, body = await self.gw.call(
                    "PUT", f"/api/v1/agri/reports/{op.rid}/draft", headers=self.auth[op.village],
                    json={"values": VALUES, "explanations": {}, "expected_version": 0})
                if status != 200:
                    failed.append(status)

        await asyncio.gather(*[one(op) for op in ops])
        assert not failed, f"drafts failed: {sorted(set(failed))}"
        print(f"{len(ops)} drafts saved in {time.perf_counter() - t:.0f} s (set-up, not measured)")

    async def submit(self, op: Op) -> None:
        op.t = time.perf_counter()
        try:
            status, _ = await self.gw.call(
                "POST", f"/api/v1/agri/reports/{op.rid}/submit", json={"expected_version": 1},
                headers={**self.auth[op.village], "Idempotency-Key": uuid.uuid4().hex})
            op.http_ms = (time.perf_counter() - op.t) * 1000
            if status != 200:
                op.error = f"submit {status}"
        except (TimeoutError, aiohttp.ClientError) as exc:
            op.error = type(exc).__name__

    async def approve(self, op: Op, case_id: str, version: int) -> None:
        t = time.perf_counter()
        try:
            status, _ = await self.gw.call(
                "POST", f"/api/v1/workflow/cases/{case_id}/approve",
                json={"expected_version": version},
                headers={**self.auth[op.township], "Idempotency-Key": uuid.uuid4().hex})
            if status != 200:
                op.approve_error = f"approve {status}"
        except (TimeoutError, aiohttp.ClientError) as exc:
            op.approve_error = type(exc).__name__
        op.approve_ms = (time.perf_counter() - t) * 1000

    async def watch(self, stop: asyncio.Event) -> None:
        """Cases that reached a township queue, read by transaction id every 20 ms."""
        conn = await asyncpg.connect(self.database_url)
        try:
            since = 0
            while not stop.is_set():
                xmin = await conn.fetchval(
                    "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")
                rows = await conn.fetch(
                    "SELECT case_id::text, subject_id, version FROM workflow.cases "
                    "WHERE task_id = ANY($1::text[]) AND changed_tx >= $2 "
                    "AND level = 'township' AND status = 'in_review'", self.task_ids, since)
                since, now = xmin, time.perf_counter()
                for row in rows:
                    op = self.by_rid.get(row["subject_id"])
                    if op is not None and op.seen is None:
                        op.seen = now
                        self.spawn(self.approve(op, row["case_id"], row["version"]))
                await asyncio.sleep(0.02)
        finally:
            await conn.close()

    async def run_at(self, rate: float, seconds: float) -> tuple[list[Op], float]:
        """Start rate x seconds submits on schedule; the ops and the seconds it really took
        (longer than asked when the client falls behind)."""
        started, start = [], time.perf_counter()
        for i in range(int(rate * seconds)):
            await asyncio.sleep(max(0.0, start + i / rate - time.perf_counter()))
            op = self.pending.pop()
            started.append(op)
            self.spawn(self.submit(op))
        return started, time.perf_counter() - start + 1 / rate

    async def drain(self, ops: list[Op], timeout: float = 30.0) -> None:
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline and any(
                op.http_ms is None and op.error is None or op.error is None and op.seen is None
                or op.seen is not None and op.approve_ms is None for op in ops):
            await asyncio.sleep(0.1)


def summary(ops: list[Op], seconds: float) -> dict:
    submitted = [op for op in ops if op.http_ms is not None]
    errors = [op.error for op in ops if op.error] + [op.approve_error for op in ops
                                                      if op.approve_error]
    return {"sent": len(ops), "rate": len(ops) / seconds, "answered": len(submitted),
            "errors": errors,
            "missing": sum(op.error is None and op.seen is None for op in ops),
            # Unanswered (or failed) submits are infinitely slow, not left out.
            "http": [op.http_ms if op.http_ms is not None else math.inf for op in ops],
            "queue": [op.queue_ms for op in ops if op.error is None],
            "approve": [op.approve_ms for op in ops if op.approve_ms is not None]}


def line(label: str, s: dict) -> str:
    def ms(values, p):
        v = percentile(values, p)
        return "never" if v == math.inf else f"{v:.0f}"
    kinds = sorted(set(s["errors"]))
    return (f"{label}: submits started {s['sent']} ({s['rate']:.1f}/s), answered "
            f"{s['answered']}, errors {len(s['errors'])}"
            + (f" {kinds}" if kinds else "") + f", not in queue {s['missing']}; "
            f"submit HTTP p50/p99 {ms(s['http'], 50)}/{ms(s['http'], 99)} ms; "
            f"submit->queue p50/p99 {ms(s['queue'], 50)}/{ms(s['queue'], 99)} ms; "
            f"approve p99 {ms(s['approve'], 99)} ms; load average {os.getloadavg()[0]:.1f}")


def cpu_line(before: dict[str, float], after: dict[str, float], seconds: float,
             submits: int) -> str:
    """The stack's CPU over a step (submits and their approvals, until drained), per process
    (from /proc: the services, PostgreSQL with its backends, the broker; not this client)."""
    used = {k: after.get(k, 0.0) - before.get(k, 0.0) for k in after}
    total = sum(used.values())
    parts = ", ".join(f"{k} {v:.1f}" for k, v in sorted(used.items(), key=lambda kv: -kv[1]))
    return (f"  stack CPU {total:.1f} CPU-s in {seconds:.1f} s = "
            f"{1000 * total / max(submits, 1):.1f} ms per submit with its approve "
            f"({total / max(seconds, 1e-9):.2f} cores; load avg {os.getloadavg()[0]:.1f}); "
            f"by process: {parts}")


class Memory:
    """RSS of each process every 5 s (PostgreSQL: PSS summed over its processes)."""

    def __init__(self, procs: dict, infra):
        self.procs = {name: psutil.Process(p.pid) for name, p in procs.items()}
        infra_procs = getattr(infra, "_procs", [])  # gx_devstack keeps (Popen, signal) pairs
        self.trees = {}
        for name, (proc, _sig) in zip(("postgres", "tansu"), infra_procs):
            self.trees[name] = psutil.Process(proc.pid)
        self.samples: list[tuple[float, dict[str, float]]] = []

    def sample(self) -> dict[str, float]:
        now = {name: p.memory_info().rss / MIB for name, p in self.procs.items()}
        for name, root in self.trees.items():
            tree = [root] + root.children(recursive=True)
            now[name] = sum(self._pss(p) for p in tree) / MIB
        self.samples.append((time.perf_counter(), now))
        return now

    @staticmethod
    def _pss(p: psutil.Process) -> float:
        try:
            return p.memory_full_info().pss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            return 0.0

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            self.sample()
            await asyncio.sleep(5)

    def latest(self) -> str:
        return " ".join(f"{n} {v:.0f}" for n, v in self.samples[-1][1].items()) + " MiB"

    def slopes(self) -> str:
        if len(self.samples) < 3:
            return "too few samples"
        t0 = self.samples[0][0]
        minutes = [(t - t0) / 60 for t, _ in self.samples]
        out = []
        for name in self.samples[0][1]:
            values = [s[name] for _, s in self.samples]
            slope = statistics.linear_regression(minutes, values).slope
            noise = statistics.pstdev(values)
            out.append(f"{name} {slope:+.1f} MiB/min (spread {noise:.1f} MiB)")
        return "; ".join(out)


async def soak(soak: Soak, memory: Memory, rate: float, minutes: int) -> None:
    printers = []

    async def report(minute: int, ops: list[Op], took: float) -> None:
        await asyncio.sleep(GRACE)
        print(line(f"minute {minute + 1}", summary(ops, took)) + f"; {memory.latest()}",
              flush=True)

    everything, total = [], 0.0
    for minute in range(minutes):
        ops, took = await soak.run_at(rate, 60.0)
        everything, total = everything + ops, total + took
        printers.append(asyncio.create_task(report(minute, ops, took)))
    await soak.drain(everything)
    await asyncio.gather(*printers)
    print(line(f"all {minutes} min, after the drain", summary(everything, total)))
    print(f"memory slope: {memory.slopes()}")


async def ceiling(soak: Soak, rates: list[float], step_seconds: float) -> None:
    best, failed = None, False
    for rate in rates:
        before, t = stack_cpu(), time.perf_counter()
        ops, took = await soak.run_at(rate, step_seconds)
        await soak.drain(ops, timeout=15.0)
        s = summary(ops, took)
        ok = not s["errors"] and not s["missing"] and percentile(s["queue"], 99) <= P99_GOAL_MS
        print(line(f"{rate:.0f}/s for {step_seconds:.0f} s", s) + ("" if ok else "  <- fails"),
              flush=True)
        print(cpu_line(before, stack_cpu(), time.perf_counter() - t, len(ops)), flush=True)
        if not ok:
            failed = True
            break
        best = rate
    at_least = "" if failed else "at least "  # every step passed: the top was not found
    print(f"submit ceiling: {at_least}{best:.0f}/s" if best
          else "submit ceiling: below the first step",
          f"(no errors, every case in the queue, submit->queue p99 <= {P99_GOAL_MS:.0f} ms)")


async def drive(args, gateway: str, infra, procs: dict, secret: str) -> None:
    steps = int((args.max - args.start) / args.step) + 1
    rates = [args.start + i * args.step for i in range(steps)]
    needed = (int(sum(r * args.step_seconds for r in rates)) if args.ceiling
              else int(args.rate * 60 * args.minutes))
    gw = Gateway(gateway)
    stop = asyncio.Event()
    try:
        task_ids, ops = await publish(gw, infra.database_url, needed)
        runner = Soak(gw, infra.database_url, secret, task_ids, ops)
        await runner.draft_all(ops)
        memory = Memory(procs, infra)
        background = [asyncio.create_task(runner.watch(stop)),
                      asyncio.create_task(memory.run(stop))]
        print(f"memory at start: {(memory.sample(), memory.latest())[1]}")
        if args.ceiling:
            await ceiling(runner, rates, args.step_seconds)
        else:
            print(f"{args.rate:.0f} submits/s with approvals for {args.minutes} min")
            await soak(runner, memory, args.rate, args.minutes)
        stop.set()
        await asyncio.gather(*background)
    finally:
        stop.set()
        await gw.session.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--minutes", type=int, default=int(os.environ.get("GX_SOAK_MINUTES", 10)))
    parser.add_argument("--ceiling", action="store_true")
    parser.add_argument("--start", type=float, default=100.0)
    parser.add_argument("--step", type=float, default=50.0)
    parser.add_argument("--max", type=float, default=300.0)
    parser.add_argument("--step-seconds", type=float, default=30.0)
    args = parser.parse_args()
    secret = secrets.token_hex(32)
    with bench_infra() as infra:
        procs, urls = start_services(infra, GX_JWT_SECRET=secret, GX_RATE_USER_BURST="100000",
                                     GX_RATE_USER_PER_SEC="100000")
        try:
            asyncio.run(drive(args, urls["gateway"], infra, procs, secret))
        finally:
            devrun.stop_services(procs)


if __name__ == "__main__":
    main()
