"""A schema from before migration 0003 (a form's opening and lifecycle state only in its row):
0003 adopts each form with one history_adopted event, and a rebuild gives the rows back."""
import json
import shutil
import uuid

import pytest

from gx_kernel.eventstore import EventStore
from gx_kernel.migrations import run_migrations
from gx_kernel.projections import rebuild

from gx_registry.application.projections import projections
from gx_registry.main import MIGRATIONS
from tests.migration_support import pool, schemas  # noqa: F401 - fixtures

pytestmark = pytest.mark.integration
VILLAGE = "450103103201"


async def test_forms_from_before_0003_keep_their_state_through_a_rebuild(pool, schemas, tmp_path):
    s = schemas()
    before = tmp_path / "gx_registry" / "migrations"
    before.mkdir(parents=True)
    for f in ("0001_initial.sql", "0002_form_state.sql"):
        shutil.copy(MIGRATIONS / f, before)
    await run_migrations(pool, s, [before])  # the kernel's tables and the registry's 0001-0002
    opened, returned, case = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    async with pool.acquire() as conn:  # as the release before wrote them: no event at all
        await conn.execute(
            f"INSERT INTO {s}.unit_forms (form_id, village_code, form_version, vals) "
            f"VALUES ($1, $2, 1, $3::jsonb)", opened, VILLAGE,
            json.dumps({"name": "南宁天堂宏达科技有限公司", "division_code": VILLAGE}))
        await conn.execute(
            f"INSERT INTO {s}.unit_forms (form_id, village_code, form_version, vals, location, "
            f"status, revision, case_id, return_reason, return_from_level, version) VALUES "
            f"($1, $2, 1, $3::jsonb, $4::jsonb, 'returned', 1, $5, '请核实人数', 'township', 0)",
            returned, VILLAGE, json.dumps({"name": "南宁恒通贸易有限公司", "employees": 8}),
            json.dumps({"latitude": 22.8, "longitude": 108.4, "accuracy_m": 12.5,
                        "taken_at": "2026-06-01T10:00:00+08:00"}), case)
    await run_migrations(pool, s, [MIGRATIONS], kernel=False)  # 0003
    store = EventStore(pool, s)
    for fid in (opened, returned):
        (adopted,) = await store.read_stream(f"unitform-{fid}")
        assert adopted.type == "registry.unit_form.history_adopted"
    keep = "form_id, status, revision, case_id, return_reason, return_from_level, vals, " \
           "location, version"
    async with pool.acquire() as conn:
        rows = [dict(r) for r in await conn.fetch(
            f"SELECT {keep} FROM {s}.unit_forms ORDER BY form_id")]
    assert {r["version"] for r in rows} == {1}
    await rebuild(store, projections(s))
    async with pool.acquire() as conn:
        again = [dict(r) for r in await conn.fetch(
            f"SELECT {keep} FROM {s}.unit_forms ORDER BY form_id")]
    assert again == rows
    assert next(r for r in again if r["form_id"] == returned)["status"] == "returned"
    await run_migrations(pool, s, [MIGRATIONS], kernel=False)  # applied once only
    assert len(await store.read_stream(f"unitform-{opened}")) == 1
