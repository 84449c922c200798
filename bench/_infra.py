"""Benchmarks run on DATABASE_URL / KAFKA_BOOTSTRAP_SERVERS when set, else the embedded stack."""
import contextlib
from pathlib import Path

from gx_devstack.infra import start_infra

DATA_DIR = Path(__file__).resolve().parent.parent / ".data" / "bench-infra"


@contextlib.contextmanager
def bench_infra():
    with start_infra(DATA_DIR, fresh=True) as infra:
        yield infra


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def start_services(infra, **env: str):
    """The five services as separate processes, as `make run` starts them.

    Returns (processes, {service: url}); stop them with gx_devstack.run.stop_services."""
    import os
    import threading

    from gx_devstack import run as devrun
    from gx_devstack.procs import free_port

    os.environ.update(env)
    ports = {name: free_port() for name in devrun.SERVICES}
    procs = {name: devrun.spawn(name, e) for name, e in devrun.service_envs(infra, ports).items()}
    for proc in procs.values():
        threading.Thread(target=proc.stdout.read, daemon=True).start()  # drain, keep quiet
    problem = devrun.wait_ready(procs, ports, threading.Event(), 120)
    if problem:
        devrun.stop_services(procs)
        raise SystemExit(problem)
    return procs, {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
