"""PES matching of 100,000 enumerated × 100,000 check persons (goal ≤ 10 s).

Realistic mix in 200 areas: 97 % of check persons carry their ID number, 2 % only name, sex
and birth, 1 % are omissions; the enumeration also holds 0.5 % duplicates.

    .venv/bin/python bench/population_pes_bench.py [persons]
"""
from __future__ import annotations

import datetime as dt
import os
import random
import sys
import time

from gx_population.domain import idnumber
from gx_population.domain.pes import PesPerson, coverage, match

GOAL_S = 10.0


def population(n: int, rng: random.Random):
    people = []
    for i in range(n):
        born = dt.date(1930, 1, 1) + dt.timedelta(days=rng.randrange(34000))
        sex = rng.choice("12")
        seq = rng.randrange(500) * 2 + (1 if sex == "1" else 0)
        people.append((f"A{i % 200:03d}", idnumber.build("450103", born, seq),
                       f"人{rng.randrange(10 ** 6)}", sex, born.isoformat()[:7]))
    return people


def main(n: int = 100_000) -> None:
    rng = random.Random(11)
    people = population(n, rng)
    enum = [PesPerson(f"e{i}", a, pid, nm, s, b) for i, (a, pid, nm, s, b) in enumerate(people)]
    enum += [PesPerson(f"d{i}", *people[i]) for i in range(0, n, 200)]  # duplicates
    check = []
    for i, (a, pid, nm, s, b) in enumerate(people):
        r = rng.random()
        if r < 0.01:  # omitted by the enumeration: someone else
            pid, nm = idnumber.build("450102", dt.date(2000, 1, 1), i % 1000), f"漏{i}"
        check.append(PesPerson(f"q{i}", a, None if 0.01 <= r < 0.03 else pid, nm, s, b))
    load_before = os.getloadavg()
    t0 = time.perf_counter()
    m = match(enum, check)
    t1 = time.perf_counter()
    _, total = coverage(enum, check, m)
    t2 = time.perf_counter()
    row = total.as_dict()
    print(f"PES matching {len(enum):,} enumerated × {len(check):,} check persons: "
          f"{t1 - t0:.2f} s (goal ≤ {GOAL_S:.0f} s), measures {t2 - t1:.2f} s")
    print(f"  M={total.M:,} omission={row['omission_rate']:.4%} "
          f"erroneous={row['erroneous_inclusion_rate']:.4%} DSE={row['dse']:,.0f} "
          f"net coverage error={row['net_coverage_error']:.4%}")
    print(f"  load average (1/5/15 min) before {' '.join(f'{x:.2f}' for x in load_before)},"
          f" after {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print("  goal met" if t1 - t0 <= GOAL_S else "  GOAL MISSED")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
