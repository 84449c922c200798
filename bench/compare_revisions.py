"""Before/after figures of the benches a change must not slow down: event append (events/s),
submit -> township queue latency and gateway latency (p50/p99), for two source trees.

    git worktree add --detach /tmp/base <commit>      # the tree to compare against
    .venv/bin/python bench/compare_revisions.py /tmp/base . [--rounds 2] [--quick]

Each bench runs from its own tree (that tree's script, its packages first on PYTHONPATH, this
one venv), base and head one after the other with the same parameters, the order flipped every
round so a drifting load favours neither. The table gives the median over rounds; every run's
load average (1 min) is printed beside it, since a shared 2-core machine moves these figures
by tens of percent. Raw outputs go to bench/results/compare-<time>/.
"""
from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# bench script, arguments (full, quick)
BENCHES = {
    "eventstore_bench": (["--seconds", "3"], ["--seconds", "2"]),
    "slice_latency_bench": (["--rate", "100", "--seconds", "30"], ["--rate", "50", "--seconds", "10"]),
    "gateway_bench": (["--rate", "200", "--seconds", "10", "--rounds", "5"],
                      ["--rate", "200", "--seconds", "5", "--rounds", "3"]),
}
_NUM = r"([0-9][0-9,.]*|inf)"


def figures(bench: str, out: str) -> dict[str, float]:
    """The numbers of one run, by name (missing ones are left out)."""
    found: dict[str, float] = {}

    def put(name: str, text: str) -> None:
        found[name] = float(text.replace(",", ""))

    if bench == "eventstore_bench":
        for m in re.finditer(rf"^\s+(\d+)\s+(\d+)\s+{_NUM}\s+{_NUM}\s+\d+%$", out, re.M):
            put(f"append {m[1]} writer(s) x {m[2]}/tx, events/s", m[3])
    elif bench == "slice_latency_bench":
        if m := re.search(rf"submit -> township queue latency.*?p50 {_NUM} ms, p99 {_NUM} ms", out):
            put("submit -> queue p50, ms", m[1])
            put("submit -> queue p99, ms", m[2])
        if m := re.search(rf"HTTP submit round trip: p50 {_NUM} ms, p99 {_NUM} ms", out):
            put("submit HTTP round trip p50, ms", m[1])
            put("submit HTTP round trip p99, ms", m[2])
    elif bench == "gateway_bench":
        for who in ("gateway", "direct"):
            if m := re.search(rf"^\s+{who}\s+n=\s*\d+\s+p50=\s*{_NUM} ms.*?p99=\s*{_NUM} ms",
                              out, re.M):
                put(f"{who} GET p50, ms", m[1])
                put(f"{who} GET p99, ms", m[2])
    return found


def pythonpath(tree: Path) -> str:
    dirs = [tree / "kernel", tree / "contracts", tree / "deploy" / "devstack",
            *sorted(p for p in (tree / "services").iterdir() if p.is_dir())]
    return os.pathsep.join(str(d) for d in dirs)


def load1() -> float:
    return os.getloadavg()[0]


def run(tree: Path, bench: str, args: list[str], outdir: Path, tag: str) -> tuple[dict, float]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS")}  # each run starts its own
    env["PYTHONPATH"] = pythonpath(tree)
    before = load1()
    proc = subprocess.run([sys.executable, str(tree / "bench" / f"{bench}.py"), *args],
                          cwd=tree, env=env, capture_output=True, text=True, timeout=1800)
    out = proc.stdout + proc.stderr
    (outdir / f"{tag}-{bench}.txt").write_text(
        f"# {tree} {' '.join(args)}; load {before:.2f} -> {load1():.2f}; rc {proc.returncode}\n"
        + out)
    return figures(bench, out), (before + load1()) / 2


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("base", type=Path)
    ap.add_argument("head", type=Path)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--quick", action="store_true", help="shorter runs (a shared machine)")
    ap.add_argument("--only", choices=sorted(BENCHES), action="append")
    if len(sys.argv) == 1:  # `make bench` runs every bench: without two trees, just say how
        print(__doc__)
        return
    a = ap.parse_args()
    trees = {"base": a.base.resolve(), "head": a.head.resolve()}
    outdir = ROOT / "bench" / "results" / f"compare-{time.strftime('%Y%m%d-%H%M%S')}"
    outdir.mkdir(parents=True)
    results: dict[tuple[str, str], list[float]] = {}
    loads: dict[tuple[str, str], list[float]] = {}
    for bench in a.only or BENCHES:
        args = BENCHES[bench][1 if a.quick else 0]
        for r in range(a.rounds):
            for side in (("base", "head") if r % 2 == 0 else ("head", "base")):
                found, load = run(trees[side], bench, args, outdir, f"r{r + 1}-{side}")
                print(f"{bench} round {r + 1} {side}: load {load:.1f} {found}", flush=True)
                for name, value in found.items():
                    results.setdefault((name, side), []).append(value)
                    loads.setdefault((name, side), []).append(load)
    names = list(dict.fromkeys(n for n, _ in results))
    print(f"\n| figure | base {a.base} | head {a.head} | head/base |\n|---|---|---|---|")
    for name in names:
        cells = []
        for side in ("base", "head"):
            vals = results.get((name, side), [])
            med = statistics.median(vals) if vals else float("nan")
            cells.append(med)
            runs = ", ".join(f"{v:,.0f} @{ld:.1f}" for v, ld in zip(vals, loads[(name, side)]))
            cells.append(f"{med:,.1f} ({runs})")
        ratio = cells[2] / cells[0] if cells[0] else float("nan")
        print(f"| {name} | {cells[1]} | {cells[3]} | {ratio:.2f} |")
    print(f"\n(median over rounds; in brackets each run @ its load average; raw: {outdir})")


if __name__ == "__main__":
    main()
