"""An area's events of several types in one projection batch (one commit, or a rebuild's page)
leave the same `areas` row as applying them one at a time: the registry groups a batch's
events by projector, so the area stream's projectors must be one in-order dispatcher."""
import datetime as dt
import json
import uuid

import pytest

from gx_kernel.eventstore import StoredEvent
from gx_kernel.migrations import run_migrations

from gx_population.adapters.schema import MIGRATIONS
from gx_population.application.projections import projections
from tests.migration_support import pool, schemas  # noqa: F401 - fixtures

pytestmark = pytest.mark.integration
AT = dt.datetime(2026, 11, 1, 8, tzinfo=dt.UTC)


def area_events(area: uuid.UUID) -> list[StoredEvent]:
    sid, ids = f"area-{area}", {"area_id": str(area)}
    entries = [{"entry_id": str(uuid.uuid4()), "building": "1栋", "household_no": "001"}]
    typed = [
        ("population.area.imported", {**ids, "survey_year": 2026, "area_code": "450103103201001",
                                      "village_code": "450103103201", "name": "天堂村第一调查小区",
                                      "urban_rural_code": "220"}),
        ("population.roster.saved", {**ids, "entries": entries}),
        ("population.area.verified", {**ids, "boundary": "东至河", "buildings": ["1栋"],
                                      "name": "天堂村一组", "urban_rural_code": "220",
                                      "corrected": True}),
        ("population.roster.reviewed", {**ids, "level": "township", "ok": True}),
        ("population.area.assigned", {**ids, "username": "u-grid", "assigned": True}),
        ("population.roster.saved", {**ids, "entries": entries * 2}),
    ]
    return [StoredEvent(uuid.uuid4(), sid, v, v, 100 + v, t, 1, d, {"actor_name": "张三"},
                        AT + dt.timedelta(minutes=v))
            for v, (t, d) in enumerate(typed, start=1)]


async def area_row(conn, s, area):
    row = dict(await conn.fetchrow(f"SELECT * FROM {s}.areas WHERE area_id = $1", area))
    row.pop("area_id")
    return row


async def test_one_batch_of_an_areas_events_gives_the_row_of_one_at_a_time(
        pool, schemas):  # noqa: F811 - fixtures
    area = uuid.uuid4()
    events = area_events(area)
    assert set(e.type for e in events) <= projections("x").event_types
    rows = []
    for batched in (False, True):
        s = schemas()
        await run_migrations(pool, s, [MIGRATIONS])
        registry = projections(s)
        async with pool.acquire() as conn:
            if batched:
                await registry.apply(conn, events)
            else:
                for e in events:
                    await registry.apply(conn, [e])
            rows.append(await area_row(conn, s, area))
    one_at_a_time, batch = rows
    assert one_at_a_time["version"] == 6 and len(json.loads(one_at_a_time["roster"])) == 2
    assert batch == one_at_a_time
