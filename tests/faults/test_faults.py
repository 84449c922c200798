"""Issue 14 §2: faults under a steady load through the gateway, then a history check.

One stack of processes (agri, workflow, gateway on PostgreSQL and Tansu of their own) per
module and one history across its tests; each test runs the load, injects its faults, stops
the load, waits for the system to settle and checks everything recorded so far
(tests/faults/history.py): every acknowledged command exactly one effect, no unknown one two,
every stored event on its topic, per stream gapless versions in order, every report agreeing
with its case, totals equal to the sum of the records.
"""
from __future__ import annotations

import asyncio
import contextlib
import time

import pytest

from . import observe
from .conftest import cut_seconds
from .history import History, check, check_consumers, figures
from .load import Load
from .procstack import fault_stack

pytestmark = pytest.mark.e2e
PROGRESS_S = 90.0  # how long the load may take to get going again after a fault


class Run:
    """The module's stack, its history and the tasks published so far."""

    def __init__(self, stack) -> None:
        self.stack, self.history, self.tasks = stack, History(), []
        self._load: tuple[Load, asyncio.Task] | None = None

    @contextlib.asynccontextmanager
    async def load(self):
        """The load runs in the block, once it got a report through the whole chain."""
        load = Load(self.stack.gateway_url, self.history)
        running = asyncio.create_task(load.run())
        self._load = (load, running)
        try:
            await self.progress("warm-up", 3, new_cases=True)
            yield load
        finally:
            load.stop.set()
            try:
                await asyncio.wait_for(running, 2 * load.resolve_s + 30)
            except TimeoutError:
                raise AssertionError("the load did not stop: a command in hand for over "
                                     f"{2 * load.resolve_s + 30:.0f}s") from None
            finally:
                self._load = None
                self.tasks += load.tasks

    async def progress(self, what: str, n: int, service: str | None = None,
                       new_cases: bool = False, timeout_s: float = PROGRESS_S) -> None:
        """Wait until the load had `n` more commands acknowledged (see Load.acknowledged)."""
        assert self._load is not None, "no load running"
        load, running = self._load
        since = time.monotonic()
        while (done := load.acknowledged(since, service, new_cases)) < n:
            if running.done():
                raise AssertionError(f"{what}: the load stopped: {running.exception()!r}")
            if time.monotonic() - since > timeout_s:
                kind = "review actions on new cases" if new_cases else \
                    f"{service or 'any'} commands"
                raise AssertionError(f"{what}: {done} of {n} {kind} acknowledged in "
                                     f"{timeout_s:.0f}s (logs in {self.stack.slot})")
            await asyncio.sleep(0.2)

    async def verify(self, keep, timeout_s: float = 120.0) -> None:
        """Once settled (relays published all, reports agree with cases) and every consumer
        group is past its topic's last record — else observed again, up to `timeout_s`; the
        checker then names what is still off."""
        start = time.monotonic()
        while True:
            await observe.settle(self.stack, timeout_s=max(1.0, start + timeout_s
                                                           - time.monotonic()))
            seen = await observe.observe(self.stack, self.tasks)
            if (not check_consumers(seen.records, seen.committed)
                    or time.monotonic() - start > timeout_s):
                break
            await asyncio.sleep(1.0)
        settle_s = time.monotonic() - start
        anomalies = check(self.history, seen)
        numbers = figures(self.history, seen, self.stack.faults, anomalies)
        keep({**numbers, "settle_s": round(settle_s, 1)})
        assert self.history.counts()["ok"] > 0, "the load did nothing"
        assert not anomalies, "\n".join(map(str, anomalies[:40]))


@pytest.fixture(scope="module")
async def run():
    async with fault_stack() as stack:
        yield Run(stack)


async def test_kill_minus_nine_each_service_mid_load(run, fault_figures):
    async with run.load():
        for name in ("agri", "workflow", "gateway"):
            await run.stack.kill9(name)
            await run.progress(f"after kill -9 {name}", 5,
                               service=None if name == "gateway" else name)
        await run.progress("after the kills", 3, new_cases=True)
    await run.verify(fault_figures)


async def test_broker_restarted_and_cut_off(run, fault_figures):
    async with run.load():
        await run.stack.restart_broker()
        await run.progress("after broker stop/start", 3, new_cases=True)
        await run.stack.cut_broker(cut_seconds())
        await run.progress("after the broker cut", 3, new_cases=True)
    await run.verify(fault_figures)


async def test_postgres_restarted_mid_load(run, fault_figures):
    async with run.load():
        await run.stack.restart_postgres()
        await run.progress("after postgres restart", 5, service="agri")
        await run.progress("after postgres restart", 3, new_cases=True)
    await run.verify(fault_figures)


async def test_every_event_twice_and_a_consumer_replayed_from_zero(run, fault_figures):
    stack = run.stack
    async with run.load():
        for service in observe.STORES:
            await observe.duplicate_topic(stack, service)
            stack.faults.append(f"{service}.events delivered twice")
        # agri's follower of the review chain reads workflow.events again from offset 0
        await stack.stop_service("agri")
        took = await observe.rewind_group(stack, f"{stack.prefix}.agri.workflow",
                                          stack.topic("workflow.events"))
        stack.faults.append(f"agri consumer replayed from zero (rewound in {took:.1f}s)")
        await stack.start_service("agri")
        await run.progress("after the replay", 3, new_cases=True)
    await run.verify(fault_figures)
