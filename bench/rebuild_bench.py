"""Projection rebuild throughput: events/s replayed from the event store into read models.

    .venv/bin/python bench/rebuild_bench.py [--model synthetic|workflow|agri|registry|
                                                     population|organisation|all]
                                            [--events 500000] [--batch-size 10000]

`synthetic` (default): N events (1,000 streams, in transactions of 10,000, as many commits
would leave them) into a schema made by the kernel's migrations, rebuilt into a synthetic
read model with gx_kernel.projections.rebuild: a per-event log row (COPY) and a per-stream
total (executemany upsert), in one transaction, read with a server-side cursor.
`workflow`: real case events (opened with a form's 40 field labels, approved twice,
accepted; contract payloads) rebuilt into the workflow's `cases` and `case_steps` by its own
registry (every event decoded into its payload class). `agri`: tasks published to the
region's 16,681 villages and each report's stream (draft, submit, three review events
followed, accepted) rebuilt into tasks, reports and review_log by agri's registry.
`registry`, `population`, `organisation`: their own streams and registries (seeds in rebuild_models.py).
Goal (issue 9): >= 50,000 events/s. Also printed: events per CPU-second of the replaying
process (the database works in its own processes meanwhile), which a busy machine skews less.
"""
import argparse
import asyncio
import functools
import json
import os
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg

sys.path.insert(0, os.path.dirname(__file__))
from _infra import bench_infra  # noqa: E402

from gx_kernel.eventstore import EventStore  # noqa: E402
from gx_kernel.migrations import run_migrations  # noqa: E402
from gx_kernel.projections import ProjectionRegistry, rebuild  # noqa: E402

SCHEMA = "rebuild_bench"
STREAMS = 1000
SERVICES = ("registry", "population", "organisation")
MODELS = ("synthetic", "workflow", "agri", *SERVICES)
PROFILE: Any = None  # --profile: a cProfile.Profile around the rebuild rounds
PROFILE_TO = ""


def registry_for(schema: str) -> ProjectionRegistry:
    registry = ProjectionRegistry()

    @registry.reset
    async def reset(conn):
        await conn.execute(f"TRUNCATE {schema}.item_log, {schema}.item_totals")

    @registry.batch("bench.item.counted")
    async def project(conn, events):
        await conn.copy_records_to_table(
            "item_log", schema_name=schema, columns=("event_id", "stream_id", "n"),
            records=[(e.id, e.stream_id, e.data["n"]) for e in events])
        totals: dict[str, list[int]] = {}
        for e in events:
            row = totals.setdefault(e.stream_id, [0, 0])
            row[0] += 1
            row[1] += e.data["n"]
        await conn.executemany(
            f"INSERT INTO {schema}.item_totals AS t (stream_id, events, total) "
            f"VALUES ($1, $2, $3) ON CONFLICT (stream_id) DO UPDATE "
            f"SET events = t.events + excluded.events, total = t.total + excluded.total",
            [(k, v[0], v[1]) for k, v in totals.items()])

    return registry


async def fresh_schema(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        await conn.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
    await run_migrations(pool, SCHEMA)


async def seed_synthetic(pool: asyncpg.Pool, events: int) -> tuple[ProjectionRegistry, int]:
    await fresh_schema(pool)
    async with pool.acquire() as conn:
        await conn.execute(
            f"CREATE TABLE {SCHEMA}.item_log (event_id uuid, stream_id text, n int); "
            f"CREATE TABLE {SCHEMA}.item_totals (stream_id text PRIMARY KEY, "
            f"events bigint NOT NULL, total bigint NOT NULL)")
        chunk = 10_000
        for start in range(0, events, chunk):
            async with conn.transaction():
                await conn.execute(f"""
                    INSERT INTO {SCHEMA}.events (id, stream_id, version, type, schema_version,
                                                data, metadata)
                    SELECT gen_random_uuid(), 'item-' || (i % {STREAMS}), i / {STREAMS} + 1,
                           'bench.item.counted', 1,
                           jsonb_build_object('n', i % 97, 'village_code', '450103103201'),
                           jsonb_build_object('actor', '{uuid.uuid4()}', 'role', 'grid_worker',
                                              'correlation_id', md5(i::text))
                    FROM generate_series($1::int, $2::int) AS i""",
                                   start, min(start + chunk, events) - 1)
        await conn.execute(f"ANALYZE {SCHEMA}.events")
    return registry_for(SCHEMA), events


async def copy_events(pool: asyncpg.Pool, rows, chunk: int = 10_000) -> int:
    """(stream_id, version, type, data json, metadata json) rows into the store, `chunk` per
    transaction (as many commits would leave them)."""
    n, batch = 0, []
    async with pool.acquire() as conn:
        async def flush() -> None:
            async with conn.transaction():
                await conn.copy_records_to_table(
                    "events", schema_name=SCHEMA, records=batch,
                    columns=("id", "stream_id", "version", "type", "schema_version", "data",
                             "metadata"))
            batch.clear()
        for stream_id, version, type_, data, meta in rows:
            batch.append((uuid.uuid4(), stream_id, version, type_, 1, data, meta))
            n += 1
            if len(batch) == chunk:
                await flush()
        if batch:
            await flush()
        await conn.execute(f"ANALYZE {SCHEMA}.events")
    return n


META = json.dumps({"actor": "u-town", "actor_name": "黄丽", "role": "township_statistician",
                   "division": "450103103000", "device": "pc-3", "correlation_id": "c" * 32,
                   "traceparent": "00-" + "a" * 32 + "-" + "b" * 16 + "-01"},
                  ensure_ascii=False)
LABELS = {f"ind_{i:02d}": f"指标名称第{i}项（公顷）" for i in range(40)}


def _case_events(case_id: uuid.UUID, at: datetime):
    from gx_contracts.divisions import Level
    from gx_contracts.events.base import Submission, event_fields
    from gx_contracts.events.workflow import CaseAccepted, CaseApproved, CaseOpened

    ref = {"case_id": case_id, "subject_kind": "agri.report", "subject_id": str(case_id),
           "division_code": "450103103201"}
    sub = Submission(subject_kind="agri.report", subject_id=str(case_id),
                     division_code="450103103201", task_id=uuid.uuid4(), revision=1,
                     title="2026年早稻生产情况 - 天堂村委会", field_labels=LABELS)
    chain = [Level.township, Level.county, Level.region]
    return [CaseOpened(case_id=case_id, submission=sub, chain=chain, level=Level.township,
                       deadline=at),
            CaseApproved(**ref, revision=1, from_level=Level.township, to_level=Level.county,
                         comment="数据无误", deadline=at),
            CaseApproved(**ref, revision=1, from_level=Level.county, to_level=Level.region,
                         deadline=at),
            CaseAccepted(**ref, revision=1, level=Level.region, comment="审核确认")], event_fields


async def seed_workflow(pool: asyncpg.Pool, events: int) -> tuple[ProjectionRegistry, int]:
    from gx_workflow.adapters.schema import MIGRATIONS
    from gx_workflow.application.projection import projections_for

    await fresh_schema(pool)
    await run_migrations(pool, SCHEMA, [MIGRATIONS], kernel=False)
    at = datetime(2026, 8, 15, 10, tzinfo=UTC)
    template, fields = _case_events(uuid.UUID(int=1), at)
    texts = [(fields(p)["type"], json.dumps(fields(p)["data"], ensure_ascii=False))
             for p in template]
    key = str(uuid.UUID(int=1))

    def rows():
        for _ in range(events // len(texts)):
            case = str(uuid.uuid4())
            for v, (type_, text) in enumerate(texts, 1):
                yield f"case-{case}", v, type_, text.replace(key, case), META
    return projections_for(SCHEMA), await copy_events(pool, rows())


async def seed_agri(pool: asyncpg.Pool, events: int) -> tuple[ProjectionRegistry, int]:
    from gx_contracts.events.agri import ReviewStep, TaskPublished
    from gx_contracts.events.base import event_fields
    from gx_contracts.ids import report_id_for, stream_id

    from gx_agri.adapters import schema as agri_schema
    from gx_agri.application.projections import projections
    from gx_agri.domain.report import Report

    await fresh_schema(pool)
    await agri_schema.setup(pool, SCHEMA)
    async with pool.acquire() as conn:
        villages = [r["code"] for r in await conn.fetch(
            f"SELECT code FROM {SCHEMA}.divisions WHERE level = 5 ORDER BY code")]
    at = datetime(2026, 8, 15, 10, tzinfo=UTC)
    values = {"crop_area": 4000, "grain_area": 2600, "early_rice_area": 1200,
              "early_rice_output": 468000, "late_rice_area": 1100, "maize_area": 300,
              "maize_output": 90000}

    def report_stream(task_id: uuid.UUID, village: str) -> list[tuple[str, str]]:
        """One report's own events, raised by the aggregate as the live service would."""
        report = Report(report_id_for(task_id, village), task_id, village, "A301", 1,
                        "2026-EARLY")
        report.save_draft(values, {})
        report.submit(title="2026年早稻 - 村", field_labels=LABELS, note_answers={}, changed=[])
        case_events = _case_events(report.report_id, at)[0]
        for i, case_event in enumerate(case_events[:1] + case_events[2:]):
            f = event_fields(case_event)
            report.follow(case_event, bool, ReviewStep(
                event_id=uuid.UUID(int=1 << 64 | i), type=f["type"], data=f["data"],
                metadata=json.loads(META), at=at))
        return [(e.type, json.dumps(e.data, ensure_ascii=False)) for e in report.pending_events]

    per_report = len(report_stream(uuid.UUID(int=1), villages[0]))
    tasks = max(1, -(-events // (per_report * len(villages))))  # at least `events`

    def rows():
        for _ in range(tasks):
            task_id = uuid.uuid4()
            task = TaskPublished(task_id=task_id, form_code="A301", form_version=1,
                                 period="2026-EARLY", title="2026年早稻", deadline=at,
                                 scope_division="450000000000", published_by="u-region")
            yield (stream_id("task", task_id), 1, task.EVENT_TYPE,
                   json.dumps(event_fields(task)["data"], ensure_ascii=False), META)
            template = report_stream(task_id, villages[0])
            first = str(report_id_for(task_id, villages[0]))
            for village in villages:
                rid = str(report_id_for(task_id, village))
                for v, (type_, text) in enumerate(template, 1):
                    for i in range(3):  # the review events' own ids
                        text = text.replace(str(uuid.UUID(int=1 << 64 | i)),
                                            str(uuid.uuid5(uuid.UUID(rid), str(i))))
                    yield (f"report-{rid}", v, type_,
                           text.replace(first, rid).replace(villages[0], village), META)
    return projections(SCHEMA), await copy_events(pool, rows())


async def seed_service(pool: asyncpg.Pool, events: int, model: str
                       ) -> tuple[ProjectionRegistry, int]:
    import rebuild_models

    await fresh_schema(pool)
    seed = getattr(rebuild_models, f"seed_{model}")
    return await seed(pool, events, SCHEMA, META, copy_events)


SEEDS = {"synthetic": seed_synthetic, "workflow": seed_workflow, "agri": seed_agri,
         **{m: functools.partial(seed_service, model=m) for m in SERVICES}}


async def main(model: str, events: int, batch_size: int, rounds: int) -> None:
    with bench_infra() as infra:
        # never closed while idle: the backends' CPU is read from their processes
        pool = await asyncpg.create_pool(infra.database_url, min_size=4, max_size=4,
                                         max_inactive_connection_lifetime=0)
        try:
            for name in (MODELS if model == "all" else (model,)):
                await bench(pool, name, events, batch_size, rounds)
        finally:
            await pool.close()


async def bench(pool: asyncpg.Pool, model: str, events: int, batch_size: int,
                rounds: int) -> None:
    t0 = time.perf_counter()
    registry, events = await SEEDS[model](pool, events)
    print(f"{model}: seeded {events} events in {time.perf_counter() - t0:.1f} s")
    store = EventStore(pool, SCHEMA)
    backends = await backend_pids(pool)
    rates, cpu_rates, idle_rates = [], [], []
    for r in range(rounds):
        cpu, db_cpu = time.process_time(), cpu_seconds(backends)
        if PROFILE:
            PROFILE.enable()
        result = await rebuild(store, registry, batch_size=batch_size)
        if PROFILE:
            PROFILE.disable()
        cpu, db_cpu = time.process_time() - cpu, cpu_seconds(backends) - db_cpu
        assert result.events == events, (result.events, events)
        rates.append(result.per_second)
        cpu_rates.append(events / cpu)
        # on an idle machine the two sides overlap (read ahead): the busier one sets the pace
        idle_rates.append(events / max(cpu, db_cpu))
        print(f"  round {r + 1}: {result.events} events in {result.seconds:.2f} s "
              f"= {result.per_second:,.0f} events/s; CPU {cpu:.2f} s in this process, "
              f"{db_cpu:.2f} s in its database backends ({events / cpu:,.0f} events per "
              f"CPU-second here; {events / max(cpu, db_cpu):,.0f} events/s if each side had "
              f"a core to itself)")
    await check(pool, model, events)
    if PROFILE:
        PROFILE.dump_stats(f"{PROFILE_TO}.{model}")
        print(f"  profile of the rounds: {PROFILE_TO}.{model}")
    best = sorted(rates)[len(rates) // 2]
    per_cpu = sorted(cpu_rates)[len(cpu_rates) // 2]
    idle = sorted(idle_rates)[len(idle_rates) // 2]
    load = os.getloadavg()[0]
    print(f"rebuild {model}: {events} events, batch {batch_size}: median {best:,.0f} events/s "
          f"(goal >= 50,000) {'OK' if best >= 50_000 else 'BELOW GOAL'}; "
          f"{per_cpu:,.0f} events per CPU-second of the replaying process; "
          f"{idle:,.0f} events/s by CPU time (process and database each on a core); "
          f"load average {load:.1f} on {os.cpu_count()} cores")


async def backend_pids(pool: asyncpg.Pool) -> list[int]:
    """The database processes serving the pool's connections (all held at once)."""
    conns = [await pool.acquire() for _ in range(pool.get_max_size())]
    try:
        return [await c.fetchval("SELECT pg_backend_pid()") for c in conns]
    finally:
        for c in conns:
            await pool.release(c)


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU of these processes (0 where /proc does not show them: a remote DB)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


async def check(pool: asyncpg.Pool, model: str, events: int) -> None:
    """The rebuilt models hold what the events say."""
    async with pool.acquire() as conn:
        if model == "synthetic":
            logged = await conn.fetchval(f"SELECT count(*) FROM {SCHEMA}.item_log")
            summed = await conn.fetchval(f"SELECT sum(events) FROM {SCHEMA}.item_totals")
            assert logged == summed == events
        elif model == "workflow":
            assert await conn.fetchval(f"SELECT count(*) FROM {SCHEMA}.case_steps") == events
            assert await conn.fetchval(f"SELECT count(*) FROM {SCHEMA}.cases WHERE status ="
                                       f" 'accepted'") == events // 4
        elif model == "agri":
            reports = await conn.fetchval(f"SELECT count(*) FROM {SCHEMA}.reports WHERE"
                                          f" status = 'confirmed' AND version = 6")
            tasks = await conn.fetchval(f"SELECT count(*) FROM {SCHEMA}.tasks")
            assert reports == (events - tasks) // 6 and reports > 0, (reports, events, tasks)
            assert await conn.fetchval(f"SELECT count(*) FROM {SCHEMA}.review_log") == 3 * reports
        elif model == "registry":
            units = await conn.fetchval(f"SELECT count(*) FROM {SCHEMA}.units")
            changed = await conn.fetchval(f"SELECT count(*) FROM {SCHEMA}.units WHERE version = 3")
            assert units > 0 and changed == -(-units // 3), (units, changed)
        elif model == "population":
            areas = await conn.fetchval(f"SELECT count(*) FROM {SCHEMA}.areas WHERE version = 5")
            assert areas == events // 5, (areas, events)
        elif model == "organisation":
            people = await conn.fetchval(f"SELECT count(*) FROM {SCHEMA}.appointments")
            assert await conn.fetchval(f"SELECT count(*) FROM {SCHEMA}.workloads") == 12 * people


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", choices=(*MODELS, "all"), default="synthetic")
    parser.add_argument("--events", type=int, default=500_000)
    parser.add_argument("--batch-size", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", metavar="FILE", help="cProfile the rebuild rounds into "
                        "FILE.<model> (read with python -m pstats)")
    args = parser.parse_args()
    if args.profile:
        import cProfile
        PROFILE, PROFILE_TO = cProfile.Profile(), args.profile
    asyncio.run(main(args.model, args.events, args.batch_size, args.rounds))
