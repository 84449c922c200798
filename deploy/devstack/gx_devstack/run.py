"""`make run`: local infrastructure + the six services as processes, demo data, one log stream.

Ctrl-C (or SIGTERM) stops the services (SIGTERM, then SIGKILL after a grace period), then
the infrastructure. If a service dies, everything is stopped and the exit code is non-zero.
Environment: DATABASE_URL / KAFKA_BOOTSTRAP_SERVERS use existing servers; GX_GATEWAY_PORT
(default 8000 when free); GX_READY_TIMEOUT seconds (default 120); GX_DATA_DIR.
Once ready, the gateway's URL is written to GX_DATA_DIR/gateway-url (default
.data/devstack/gateway-url), where the README's walk-through reads it; removed on stop.
"""
from __future__ import annotations

import logging
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from gx_devstack.demo import load_demo, users_table
from gx_devstack.infra import DEFAULT_DATA_DIR, Infra, start_infra
from gx_devstack.procs import die_with_parent, free_port, listens_on, port_is_free

URL_FILE = "gateway-url"  # in the data dir: the walk-through's $GW comes from it
SERVICES = ["registry", "agri", "population", "organisation", "workflow", "gateway"]  # gateway last
_print_lock = threading.Lock()


def say(message: str) -> None:
    with _print_lock:
        print(f"{'[run]':<11}| {message}", flush=True)


def gateway_port() -> int:
    wanted = int(os.environ.get("GX_GATEWAY_PORT", "8000"))
    return wanted if port_is_free(wanted) else free_port()


def population_master_key(data_dir: Path) -> str:
    """The population service's master key for this data directory (kept beside the data, so
    the demo's sealed person records stay readable across restarts); an exported one wins."""
    given = os.environ.get("GX_POPULATION_MASTER_KEY")
    if given:
        return given
    path = Path(os.environ.get("GX_DATA_DIR", data_dir)) / "population-master-key"
    if not path.exists():
        import base64
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(base64.b64encode(secrets.token_bytes(32)).decode())
        path.chmod(0o600)
    return path.read_text().strip()


def service_envs(infra: Infra, ports: dict[str, int]) -> dict[str, dict[str, str]]:
    """Per-service environment; values the user already exported win."""
    idempotence = os.environ.get("KAFKA_ENABLE_IDEMPOTENCE",
                                 "true" if infra.kafka_external else "false")  # Tansu: off
    common = {
        "DATABASE_URL": infra.database_url,
        "KAFKA_BOOTSTRAP_SERVERS": infra.kafka_bootstrap,
        "KAFKA_ENABLE_IDEMPOTENCE": idempotence,
        "GX_INTERNAL_SECRET": os.environ.get("GX_INTERNAL_SECRET") or secrets.token_hex(32),
        "GX_JWT_SECRET": os.environ.get("GX_JWT_SECRET") or secrets.token_hex(32),
        "GX_DEMO": os.environ.get("GX_DEMO", "1"),
        "PYTHONUNBUFFERED": "1",
    }
    urls = {f"GX_{name.upper()}_URL": f"http://127.0.0.1:{ports[name]}"
            for name in SERVICES if name != "gateway"}
    envs = {}
    for name in SERVICES:
        env = {**os.environ, **common, "GX_SERVICE_NAME": name, "GX_HTTP_PORT": str(ports[name]),
               "OTEL_SERVICE_NAME": f"gx-{name}"}
        if name == "gateway":
            env.update(urls)
        if name == "population":
            env["GX_POPULATION_MASTER_KEY"] = population_master_key(DEFAULT_DATA_DIR)
        envs[name] = env
    return envs


def spawn(name: str, env: dict[str, str]) -> subprocess.Popen:
    # Own session: a terminal Ctrl-C reaches only us, so we decide the shutdown order.
    return subprocess.Popen([sys.executable, "-m", f"gx_{name}.main"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True,
                            preexec_fn=die_with_parent(signal.SIGTERM))


def pump(name: str, proc: subprocess.Popen) -> threading.Thread:
    """Copy a child's output to ours, each line prefixed with the service name."""
    def run() -> None:
        for raw in iter(proc.stdout.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip("\n")
            with _print_lock:
                print(f"{name:<11}| {line}", flush=True)
    thread = threading.Thread(target=run, name=f"pump-{name}", daemon=True)
    thread.start()
    return thread


def first_dead(procs: dict[str, subprocess.Popen]) -> str | None:
    return next((name for name, p in procs.items() if p.poll() is not None), None)


def wait_ready(procs: dict[str, subprocess.Popen], ports: dict[str, int],
               stop: threading.Event, timeout: float) -> str | None:
    """None when every /ready answers 200; otherwise why not."""
    pending = set(procs)
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=2.0) as client:
        while pending:
            if stop.is_set():
                return "interrupted"
            if dead := first_dead(procs):
                return f"{dead} exited with code {procs[dead].returncode} while starting"
            if time.monotonic() > deadline:
                return f"not ready after {timeout:.0f}s: {', '.join(sorted(pending))}"
            for name in sorted(pending):
                try:
                    if client.get(f"http://127.0.0.1:{ports[name]}/ready").status_code != 200:
                        continue
                except httpx.HTTPError:
                    continue
                # Another program may answer on the port (ours cannot bind it and will exit):
                # ready only when the listener is the very process we started.
                if not listens_on(procs[name].pid, ports[name]):
                    return (f"port {ports[name]} is answered by another program, "
                            f"not the {name} we started")
                pending.discard(name)
                say(f"{name} ready on port {ports[name]}")
            stop.wait(0.3)
    return None


def stop_services(procs: dict[str, subprocess.Popen], grace: float = 10.0) -> None:
    """SIGTERM all at once (they stop in parallel), SIGKILL whoever outlives the grace."""
    for proc in procs.values():
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace
    for name, proc in procs.items():
        try:
            proc.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            say(f"{name} did not stop in {grace:.0f}s: killing it")
            proc.kill()
            proc.wait()


def banner(gateway: str, url_file: Path | None = None) -> None:
    where = f"\n  (the URL is also in {url_file}, for the README walk-through)" if url_file else ""
    with _print_lock:
        print(f"\n  gxstat is running: {gateway}\n  API under {gateway}/api/v1 — "
              f"Ctrl-C stops everything{where}\n\n  demo users:", flush=True)
        print("\n".join("    " + line for line in users_table().splitlines()) + "\n", flush=True)


def publish_url(data_dir: Path, gateway: str) -> Path:
    path = data_dir / URL_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(gateway + "\n", encoding="utf-8")
    tmp.replace(path)  # atomic: a reader sees the old URL or the new one, never half
    return path


def withdraw_url(path: Path, gateway: str) -> None:
    """Remove the URL file unless a later `make run` has written its own there since."""
    try:
        if path.read_text(encoding="utf-8").strip() == gateway:
            path.unlink()
    except OSError:
        pass


def serve(infra: Infra, stop: threading.Event, data_dir: Path = DEFAULT_DATA_DIR) -> int:
    ports = {name: free_port() for name in SERVICES if name != "gateway"}
    ports["gateway"] = gateway_port()
    procs: dict[str, subprocess.Popen] = {}
    gateway, url_file = f"http://127.0.0.1:{ports['gateway']}", None
    try:
        for name, env in service_envs(infra, ports).items():
            procs[name] = spawn(name, env)
            pump(name, procs[name])
        problem = wait_ready(procs, ports, stop, float(os.environ.get("GX_READY_TIMEOUT", "120")))
        if problem:
            say(f"stopping: {problem}")
            return 0 if problem == "interrupted" else 1
        load_demo(gateway)
        url_file = publish_url(data_dir, gateway)
        banner(gateway, url_file)
        while not stop.wait(0.5):
            if dead := first_dead(procs):
                say(f"{dead} exited with code {procs[dead].returncode}; stopping everything")
                return 1
        return 0
    finally:
        if url_file:
            withdraw_url(url_file, gateway)
        say("stopping services")
        stop_services(procs)


class _SayHandler(logging.Handler):
    """Log lines go through the same lock as service output, so lines never interleave."""

    def emit(self, record: logging.LogRecord) -> None:
        say(self.format(record))


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s", handlers=[_SayHandler()])
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per /ready poll otherwise
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    say("starting PostgreSQL and the Kafka broker")
    data_dir = Path(os.environ.get("GX_DATA_DIR", DEFAULT_DATA_DIR))
    with start_infra(data_dir) as infra:
        say(f"DATABASE_URL={infra.database_url}  KAFKA_BOOTSTRAP_SERVERS={infra.kafka_bootstrap}")
        code = serve(infra, stop, data_dir)
        say("stopping infrastructure")
    return code


if __name__ == "__main__":
    sys.exit(main())
