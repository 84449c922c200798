"""Fault tests: one stack of processes per module (tests/faults/procstack.py), one history.

The figures of every fault test (operations, faults injected, events checked, anomalies) are
printed in the terminal summary whatever `-s` says, and kept in .data/faults/summary.json.
"""
from __future__ import annotations

import json
import os

import pytest

from .procstack import DATA_DIR

FIGURES: list[dict] = []  # one entry per fault test that got as far as checking


def cut_seconds() -> float:
    """How long the broker is cut off (GX_FAULT_CUT_SECONDS, default 30 as issue 14 asks)."""
    return float(os.environ.get("GX_FAULT_CUT_SECONDS", "30"))


def record_figures(name: str, figures: dict) -> None:
    FIGURES.append({"test": name, **figures})
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    (DATA_DIR / "summary.json").write_text(json.dumps(FIGURES, ensure_ascii=False, indent=1))


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not FIGURES:
        return
    tr = terminalreporter
    tr.section("fault tests: history check")
    for f in FIGURES:
        tr.write_line(
            f"{f['test']}: operations {f['operations']} (ok {f['ok']}, failed {f['failed']}, "
            f"unknown {f['unknown']}, retried {f['retried']}), faults injected {f['faults_injected']} "
            f"[{'; '.join(f['faults'])}], events checked {f['events_checked']}, "
            f"topic records {f['topic_records']}, reports {f['reports']}, cases {f['cases']}, "
            f"settled in {f.get('settle_s', 0):.1f}s, anomalies = {f['anomalies']}")
        for line in f.get("not_ok", ()):
            tr.write_line(f"    not acknowledged: {line}")


@pytest.fixture
def fault_figures(request):
    """Call with the figures dict: kept for the summary and printed into the test's report."""
    def keep(figures: dict) -> None:
        record_figures(request.node.name, figures)
        print(json.dumps(figures, ensure_ascii=False))
    return keep
