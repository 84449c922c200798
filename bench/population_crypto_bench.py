"""Read one household of 4 persons with decryption, from PostgreSQL (goal p99 ≤ 20 ms).

Each read: the household's sealed person records joined to their wrapped data keys
(person_keys) in one query, 4 key unwraps and the identifying fields' AES-GCM decrypts — nothing
cached between reads. 500 households are stored; 2,000 reads of random households.

    .venv/bin/python bench/population_crypto_bench.py [reads]
"""
from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import random
import sys
import time
from pathlib import Path

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _infra import bench_infra, percentile  # noqa: E402

from gx_population.adapters import schema  # noqa: E402
from gx_population.domain import idnumber  # noqa: E402
from gx_population.privacy.cipher import PersonCipher  # noqa: E402
from gx_population.privacy.keys import MasterKeys, StoredKey  # noqa: E402
from gx_population.privacy.pg_keys import PostgresKeyStore  # noqa: E402

GOAL_P99_MS = 20.0
HOUSEHOLDS, SIZE = 500, 4


async def run(database_url: str, reads: int) -> None:
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
    await pool.execute("DROP SCHEMA IF EXISTS pop_bench CASCADE; CREATE SCHEMA pop_bench")
    await schema.setup(pool, "pop_bench")  # migration 0001: person_keys (and the read models)
    store = PostgresKeyStore(pool, "pop_bench.person_keys")
    await pool.execute("""CREATE TABLE pop_bench.bench_persons (
        household_id text, person_id text PRIMARY KEY, record jsonb NOT NULL);
        CREATE INDEX ON pop_bench.bench_persons (household_id)""")
    cipher = PersonCipher(store, MasterKeys.from_env(
        {"GX_POPULATION_MASTER_KEY": MasterKeys.generate_key_text()}))
    rng = random.Random(7)
    rows = []
    for h in range(HOUSEHOLDS):
        for k in range(SIZE):
            pid = f"h{h}-p{k}"
            born = dt.date(1940, 1, 1) + dt.timedelta(days=rng.randrange(30000))
            rec = {"name": f"居民{h}{k}", "id_number": idnumber.build("450103", born, k),
                   "birth_year_month": born.isoformat()[:7], "registered_address": "广西南宁市青秀区",
                   "sex": "1", "relationship": str(k), "area_code": "450103001001"}
            rows.append((f"h{h}", pid, json.dumps(await cipher.seal(pid, rec), ensure_ascii=False)))
    await pool.executemany("INSERT INTO pop_bench.bench_persons VALUES ($1, $2, $3::jsonb)", rows)

    async def read_household(hid: str) -> dict:
        recs = await pool.fetch(
            """SELECT p.person_id, p.record, k.wrapped_key, k.key_version, k.destroyed_at
               FROM pop_bench.bench_persons p LEFT JOIN pop_bench.person_keys k USING (person_id)
               WHERE p.household_id = $1""", hid)
        keys = {r["person_id"]: StoredKey(r["person_id"], r["wrapped_key"], r["key_version"],
                                          r["destroyed_at"]) for r in recs if r["key_version"]}
        return cipher.open_loaded({r["person_id"]: json.loads(r["record"]) for r in recs}, keys)

    for h in range(20):  # warm the pool and the plans
        await read_household(f"h{h}")
    times = []
    load_before = os.getloadavg()
    for _ in range(reads):
        hid = f"h{rng.randrange(HOUSEHOLDS)}"
        t0 = time.perf_counter()
        opened = await read_household(hid)
        times.append((time.perf_counter() - t0) * 1000)
        assert len(opened) == SIZE and all(p["name"].startswith("居民") for p in opened.values())
    await pool.execute("DROP SCHEMA pop_bench CASCADE")
    await pool.close()
    p50, p99 = percentile(times, 50), percentile(times, 99)
    print(f"Read one household of {SIZE} persons with decryption, {reads:,} reads from "
          f"PostgreSQL: p50 {p50:.2f} ms, p99 {p99:.2f} ms (goal p99 ≤ {GOAL_P99_MS:.0f} ms)")
    print(f"  load average (1/5/15 min) before {' '.join(f'{x:.2f}' for x in load_before)},"
          f" after {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print("  goal met" if p99 <= GOAL_P99_MS else "  GOAL MISSED")


def main(reads: int = 2000) -> None:
    with bench_infra() as infra:
        asyncio.run(run(infra.database_url, reads))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
