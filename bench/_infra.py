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
