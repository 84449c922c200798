"""Register persons through the population service's HTTP API: households of 4 persons,
each saved (identifying fields sealed per person), read back and confirmed as the phone does
(its confirmation time and the SHA-256 of the masked read-back text, checked by the server
against the draft), handed in and re-checked by the village (HouseholdSubmitted enters the
review chain); events/s, with the load average.

The service runs in-process on the real PostgreSQL (and broker, for its relay); requests go
over ASGI with signed principals (the gateway's cost is in gateway_bench). The workflow's side
of the chain is measured by workflow_bench.

    .venv/bin/python bench/population_register_bench.py [persons=20000] [concurrency=8]
    (the issue's figure: 500000 persons)
"""
from __future__ import annotations

import asyncio
import datetime as dt
import gc
import hashlib
import math
import os
import random
import sys
import time
import uuid

import httpx

sys.path.insert(0, os.path.dirname(__file__))
from _infra import bench_infra  # noqa: E402

from gx_contracts.divisions import Level, load_divisions  # noqa: E402
from gx_kernel.identity import PRINCIPAL_HEADER, Principal, sign_principal  # noqa: E402

from gx_population.domain import forms, idnumber  # noqa: E402
from gx_population.main import create_app  # noqa: E402
from gx_population.privacy.keys import MasterKeys  # noqa: E402
from gx_population.settings import PopulationSettings  # noqa: E402

SECRET = "bench-secret"
# BENCH_PLAIN_READBACK=1: the read-back without the phone's time and digest (a server from
# before they existed refuses them as unknown fields)
PLAIN_READBACK = os.environ.get("BENCH_PLAIN_READBACK") == "1"
P = "/api/v1/population"
YEAR = 2026


def who(role: str, scope: str, name: str) -> dict[str, str]:
    p = Principal(f"u-{name}", name, role, scope)
    return {PRINCIPAL_HEADER: sign_principal(p, SECRET, 3600)}


def key() -> dict[str, str]:
    """One Idempotency-Key per command, as the phone's outbox sends (a claim and an answer
    stored with each command)."""
    return {"Idempotency-Key": uuid.uuid4().hex}


def persons(i: int) -> list[dict]:
    born = dt.date(1970 + i % 30, 1 + i % 12, 1 + i % 28)
    kid = dt.date(2005 + i % 15, 1 + i % 12, 1 + i % 28)
    def one(name, rel, sex, b, seq):
        return {"name": name, "relationship": rel, "sex": sex, "birth_year_month": f"{b:%Y-%m}",
                "ethnicity": "08", "id_number": idnumber.build("450103", b, seq),
                "registration_place": "1", "left_registration_time": "1", "education": "4"}
    return [one(f"户主{i}", "0", "1", born, 101), one(f"配偶{i}", "1", "2", born, 202),
            one(f"子{i}", "2", "1", kid, 303), one(f"女{i}", "2", "2", kid, 404)]


async def main(total_persons: int, concurrency: int) -> None:
    with bench_infra() as infra:
        settings = PopulationSettings(
            GX_DB_SCHEMA="bench_population", GX_TOPIC_PREFIX=f"bench{uuid.uuid4().hex[:6]}.",
            DATABASE_URL=infra.database_url, KAFKA_BOOTSTRAP_SERVERS=infra.kafka_bootstrap,
            GX_INTERNAL_SECRET=SECRET, GX_POPULATION_MASTER_KEY=MasterKeys.generate_key_text(),
            GX_DB_POOL_MAX=concurrency + 2)
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                         base_url="http://pop", timeout=60) as c:
                await run(c, total_persons, concurrency, app)


async def run(c: httpx.AsyncClient, total_persons: int, concurrency: int, app) -> None:
    region = who("region_statistician", "450000000000", "region")
    households = total_persons // 4
    # at most 1000 household numbers per area (户编号 is three digits): enough villages for all
    wanted = max(100, math.ceil(households / 1000))
    villages = sorted(d.code for d in load_divisions().values()
                      if d.level is Level.village and d.code.startswith("4501"))[:wanted]
    assert len(villages) == wanted, f"only {len(villages)} villages for {households:,} households"
    r = await c.put(f"{P}/exams/{YEAR}", headers=region, json={"pass_mark": 60, "questions": [
        {"id": "q1", "text": "标准时点", "options": ["11月1日零时", "10月1日"], "answer": 0}]})
    assert r.status_code == 200, r.text
    r = await c.post(f"{P}/areas/import", headers=region, json={"survey_year": YEAR, "items": [
        {"area_code": v + "001", "name": f"小区{v[-3:]}", "urban_rural_code": "220"} for v in villages]})
    assert r.status_code == 200, r.text
    areas = {a["village_code"]: a["area_id"] for a in
             (await c.get(f"{P}/areas", headers=region)).json()["items"]}
    grids = {v: who("grid_worker", v, f"gw{v}") for v in villages}
    coords = {v: who("village_coordinator", v, f"vc{v}") for v in villages}
    for v in villages:
        assert (await c.post(f"{P}/exams/{YEAR}/attempts", headers=grids[v],
                             json={"answers": {"q1": 0}})).json()["passed"]
        assert (await c.post(f"{P}/areas/{areas[v]}/assignments", headers=coords[v],
                             json={"username": f"gw{v}"})).status_code == 200
    queue = list(range(households))
    form = forms.load_form()
    latencies: list[float] = []
    registered_ids: list[tuple[str, str]] = []

    async def worker() -> None:
        while queue:
            i = queue.pop()
            v = villages[i % len(villages)]
            g, k = grids[v], coords[v]
            household = {"household_no": f"{i // len(villages) % 1000:03d}",
                         "household_type": "1", "persons_at_reference": 4, "births_male": 0,
                         "births_female": 0, "deaths_male": 0, "deaths_female": 0}
            members = persons(i)
            # what the phone computes before the read-back (population_rules.js)
            digest = hashlib.sha256(forms.readback(form, household, members,
                                                   mask_id_number=True).encode()).hexdigest()
            t0 = time.perf_counter()
            r = await c.post(f"{P}/areas/{areas[v]}/households", headers={**g, **key()}, json={
                "household": household, "persons": members, "expected_version": 0})
            if r.status_code == 409:  # household number reused: counted below, never silent
                continue
            assert r.status_code == 201, r.text
            hid, ver = r.json()["household_id"], r.json()["version"]
            phone = {} if PLAIN_READBACK else {
                "confirmed_at": dt.datetime.now(dt.UTC).isoformat(), "readback_sha256": digest}
            r = await c.post(f"{P}/households/{hid}/readback", headers={**g, **key()}, json={
                "expected_version": ver, "respondent": "head", "confirmed": True, **phone})
            assert r.status_code == 200, r.text
            r = await c.post(f"{P}/households/{hid}/hand-in", headers={**g, **key()},
                             json={"expected_version": r.json()["version"]})
            r = await c.post(f"{P}/households/{hid}/recheck", headers={**k, **key()},
                             json={"expected_version": r.json()["version"], "decision": "pass"})
            assert r.status_code == 200, r.text
            latencies.append(time.perf_counter() - t0)
            registered_ids.append((v, hid))

    load_before = os.getloadavg()
    start, cpu0 = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu0
    load_after = os.getloadavg()
    rt = app.state.runtime
    async with rt.pool.acquire() as conn:
        events = await conn.fetchval("SELECT count(*) FROM bench_population.events WHERE type LIKE"
                                     " 'population.household.%'")
        registered = await conn.fetchval("SELECT count(*) FROM bench_population.persons")
        keys = await conn.fetchval("SELECT count(*) FROM bench_population.person_keys")
    done = len(latencies)
    latencies.sort()
    print(f"population register bench: {done:,} households, {registered:,} persons ({keys:,} "
          f"data keys), concurrency {concurrency}, {os.cpu_count()} CPUs, {len(villages)} areas,"
          f" {households - done:,} households refused (number taken)")
    print(f"  {elapsed:.1f} s: {events / elapsed:,.0f} household events/s, "
          f"{registered / elapsed:,.0f} persons/s, {done / elapsed:,.1f} households/s "
          f"(4 commands each: save, read-back, hand-in, re-check)")
    print(f"  per household p50 {1000 * latencies[done // 2]:.0f} ms, "
          f"p99 {1000 * latencies[int(done * 0.99) - 1]:.0f} ms")
    print(f"  this process (client + service, in-process over ASGI): {1000 * cpu / done:.1f} ms"
          f" CPU per household, {cpu / elapsed:.0%} of one core")
    print(f"  load average (1/5/15 min) before {' '.join(f'{x:.2f}' for x in load_before)},"
          f" after {' '.join(f'{x:.2f}' for x in load_after)}")
    # The bench's own heap (every household id, every latency) shares this process with the
    # service: frozen, so the collector's full passes over it do not land in the read figures.
    gc.collect()
    gc.freeze()
    await read_back(c, coords, registered_ids)
    if registered < 500_000:
        print(f"  500,000 persons at this rate: ~{500_000 / (registered / elapsed) / 60:.0f} min")


async def read_back(c: httpx.AsyncClient, coords: dict, registered: list[tuple[str, str]],
                    reads: int = 1000) -> None:
    """The village coordinator reads random households whole through the service: sealed
    persons and their keys in one query, unwrapped and decrypted, the read audited
    (population.person_record.accessed appended in the same transaction)."""
    rng = random.Random(5)
    times = []
    load_before = os.getloadavg()
    for _ in range(min(reads, len(registered) * 4)):
        v, hid = rng.choice(registered)
        t0 = time.perf_counter()
        r = await c.get(f"{P}/households/{hid}", headers=coords[v])
        times.append((time.perf_counter() - t0) * 1000)
        assert r.status_code == 200 and r.json()["view"] == "full", r.text
        assert all(p["name"] for p in r.json()["persons"])
    times.sort()
    print(f"  read one household with decryption through the service (GET, audited): {len(times):,}"
          f" reads, p50 {times[len(times) // 2]:.1f} ms, p99 {times[int(len(times) * 0.99) - 1]:.1f}"
          f" ms (goal p99 ≤ 20 ms); load average before"
          f" {' '.join(f'{x:.2f}' for x in load_before)}, after"
          f" {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    k = int(sys.argv[2]) if len(sys.argv) > 2 else 8
    asyncio.run(main(n, k))
