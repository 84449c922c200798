"""Seeds of the rebuild bench for registry, population and organisation (`rebuild_bench.py --model …`).

Each writes realistic events of the service's own stream (raised by its domain where the
service does, else its contract payloads with plausible values) into the bench schema made
by the service's migrations, and returns its real projection registry and the event count.

`registry`: units registered from department files as the importer does (Unit.register:
registered + classified, source = the file's row; an import started per 10,000 rows), one
unit in three changed by a later file (phone). `organisation`: 统计人员 appointments, each
with a year of monthly workloads (13 events per person, each workload its own stream).
"""
from __future__ import annotations

import csv
import hashlib
import json
import uuid
from collections.abc import Awaitable, Callable, Iterable, Iterator
from datetime import date
from typing import Any

import asyncpg

from gx_contracts.divisions import reference_csv_path
from gx_contracts.events.base import event_fields
from gx_kernel.migrations import run_migrations
from gx_kernel.projections import ProjectionRegistry

Rows = Iterable[tuple[str, int, str, str, str]]
CopyEvents = Callable[[asyncpg.Pool, Rows], Awaitable[int]]


def villages() -> list[str]:
    with open(reference_csv_path(), encoding="utf-8") as f:
        return [r["code"] for r in csv.DictReader(f) if r["level"] == "5"]


def _text(payload: Any) -> tuple[str, str]:
    f = event_fields(payload)
    return f["type"], json.dumps(f["data"], ensure_ascii=False, default=str)


async def seed_registry(pool: asyncpg.Pool, events: int, schema: str, meta: str,
                        copy_events: CopyEvents) -> tuple[ProjectionRegistry, int]:
    from gx_contracts.events.registry import ImportStarted, Source

    from gx_registry.application.projections import projections
    from gx_registry.domain.classify import classify
    from gx_registry.domain.unit import Unit
    from gx_registry.main import MIGRATIONS

    await run_migrations(pool, schema, [MIGRATIONS], kernel=False)
    codes = villages()
    units = max(1, events * 3 // 7)  # 2 events per unit, and a change for one in three

    def rows() -> Iterator[tuple[str, int, str, str, str]]:
        changes = []
        batch = uuid.uuid4()
        for i in range(units):
            if i % 10_000 == 0:
                batch = uuid.uuid4()
                started = ImportStarted(
                    batch_id=batch, department="市场监管", mapping_version=1,
                    file_name=f"市场主体登记_{i // 10_000}.xlsx",
                    file_sha256=hashlib.sha256(batch.bytes).hexdigest(), file_bytes=2_400_000,
                    scope_division="450000000000", imported_by="u-region")
                yield (f"import-{batch}", 1, *_text(started), meta)
            code = codes[i % len(codes)]
            name = f"南宁市{'青秀区' if i % 2 else '兴宁区'}第{i}号商贸有限公司"
            uscc = f"91450100{i:09d}X"[:18]
            record = {"name": name, "uscc": uscc, "address": f"广西南宁市民族大道{i % 900}号",
                      "legal_rep": "黄丽", "status": "1", "phone": f"0771{i % 10_000_000:07d}",
                      "industry_code": "5191"}
            src = Source(kind="department_file", batch_id=batch, department="市场监管",
                         file_name="市场主体登记.xlsx", row_no=i % 10_000 + 2)
            unit = Unit.register(uuid.uuid5(batch, str(i)), record, code,
                                 classify(name, uscc), src,
                                 placement={"code": code, "level": "village",
                                            "source": "address", "reason_code": "matched"},
                                 explanation={"outcome": "new", "rule": "no_match"})
            for v, e in enumerate(unit.pending_events, 1):
                yield (unit.stream_id, v, e.type, json.dumps(e.data, ensure_ascii=False,
                                                             default=str), meta)
            if i % 3 == 0:
                unit.pending_events.clear()
                changes.append(unit)
        for unit in changes:  # a later file: the phone changed
            unit.change({"phone": "13800000000"}, Source(kind="department_file",
                                                        department="市场监管", row_no=2))
            for v, e in enumerate(unit.pending_events, 3):  # after registered, classified
                yield (unit.stream_id, v, e.type,
                       json.dumps(e.data, ensure_ascii=False, default=str), meta)
    return projections(schema), await copy_events(pool, rows())


async def seed_organisation(pool: asyncpg.Pool, events: int, schema: str, meta: str,
                            copy_events: CopyEvents) -> tuple[ProjectionRegistry, int]:
    from gx_contracts.events.organisation import (
        AppointmentRecorded,
        PostRole,
        StaffingMode,
        WorkloadRecorded,
    )

    from gx_organisation.adapters.schema import MIGRATIONS
    from gx_organisation.application.projections import projections

    await run_migrations(pool, schema, [MIGRATIONS], kernel=False)
    codes = villages()
    people = max(1, events // 13)

    def rows() -> Iterator[tuple[str, int, str, str, str]]:
        for i in range(people):
            aid = uuid.uuid4()
            stream = f"appointment-{aid}"
            yield (stream, 1, *_text(AppointmentRecorded(
                appointment_id=aid, person_name=f"黄{'丽芳明' [i % 3]}{i % 100}",
                role=PostRole.village_coordinator, division_code=codes[i % len(codes)],
                staffing_mode=StaffingMode.part_time, start_date=date(2024, 1, 1),
                account_username=f"vc{i:06d}")), meta)
            for m in range(1, 13):  # each month's workload its own stream, as the service
                yield (f"workload-{uuid.uuid5(aid, str(m))}", 1, *_text(WorkloadRecorded(
                    appointment_id=aid, period=f"2025-{m:02d}", units=20 + i % 30)), meta)
    return projections(schema), await copy_events(pool, rows())


async def seed_population(pool: asyncpg.Pool, events: int, schema: str, meta: str,
                          copy_events: CopyEvents) -> tuple[ProjectionRegistry, int]:
    """Survey areas through 摸底: imported, assigned, verified (30 buildings), the head-of-
    household roster saved (60 sealed entries) and saved again corrected — 5 events per area.
    (Household registrations need the service's per-household keys: not seeded here.)"""
    import base64

    from gx_contracts.events.population import (
        SEALED_PREFIX,
        AreaAssigned,
        AreaImported,
        AreaVerified,
        RosterEntry,
        RosterSaved,
    )
    from gx_contracts.ids import stream_id

    from gx_population.adapters.schema import MIGRATIONS
    from gx_population.application.projections import projections

    await run_migrations(pool, schema, [MIGRATIONS], kernel=False)
    codes = villages()

    def sealed(i: int) -> str:  # the shape of a sealed name (the projection stores it as is)
        return SEALED_PREFIX + base64.b64encode(hashlib.sha256(str(i).encode()).digest()
                                                * 2).decode()

    def rows() -> Iterator[tuple[str, int, str, str, str]]:
        for i in range(max(1, events // 5)):
            aid, village = uuid.uuid4(), codes[i % len(codes)]
            stream = stream_id("area", aid)
            buildings = [f"{b:03d}" for b in range(1, 31)]
            entries = [RosterEntry(entry_id=uuid.uuid5(aid, str(n)), building_no=f"{n // 2:03d}",
                                   dwelling_no=f"{n % 2 + 1}", head_name=sealed(i * 100 + n),
                                   household_size=1 + n % 6, household_type="1")
                       for n in range(60)]
            for v, payload in enumerate((
                    AreaImported(area_id=aid, survey_year=2025, area_code=f"{village}{i % 900 + 1:03d}",
                                 village_code=village, name=f"第{i % 900 + 1}调查小区",
                                 urban_rural_code="220"),
                    AreaAssigned(area_id=aid, username=f"enum{i % 5000:05d}"),
                    AreaVerified(area_id=aid, boundary="东至江南路，南至壮锦大道，西至星光大道，北至白沙大道",
                                 buildings=buildings, name=f"第{i % 900 + 1}调查小区",
                                 urban_rural_code="220", corrected=False),
                    RosterSaved(area_id=aid, entries=entries[:59]),
                    RosterSaved(area_id=aid, entries=entries)), 1):
                yield (stream, v, *_text(payload), meta)
    return projections(schema), await copy_events(pool, rows())
