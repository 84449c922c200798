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


def folded_only(area: uuid.UUID, code: str) -> list[tuple[str, dict]]:
    """An area's import, assignments (one withdrawn), verification and two rosters: every
    event of it kept in memory by a rebuild (gx_population.application.area_rebuild)."""
    ids = {"area_id": str(area)}
    line = {"entry_id": str(uuid.uuid4()), "building": "2栋", "household_no": "003"}
    return [
        ("population.area.imported", {**ids, "survey_year": 2026, "area_code": code,
                                      "village_code": code[:12], "name": "长塘镇第二调查小区",
                                      "urban_rural_code": "121"}),
        ("population.area.assigned", {**ids, "username": "u-a", "assigned": True}),
        ("population.area.assigned", {**ids, "username": "u-b", "assigned": True}),
        ("population.roster.saved", {**ids, "entries": [line]}),
        ("population.area.assigned", {**ids, "username": "u-a", "assigned": False}),
        ("population.area.verified", {**ids, "boundary": "南至路", "buildings": ["2栋"],
                                      "name": "长塘二组", "urban_rural_code": "121",
                                      "corrected": False}),
        ("population.roster.saved", {**ids, "entries": [line, line]}),
    ]


async def test_a_rebuild_gives_the_area_rows_and_enumerators_of_the_live_projection(
        pool, schemas, monkeypatch):  # noqa: F811 - fixtures
    """Areas folded in memory by the rebuild (kept across batches, and written early past
    KEEP_AREAS), one whose roster review takes the live path midway, and a second import of
    an area code (the first area keeps the row, as the live INSERT's ON CONFLICT decides)."""
    from gx_kernel.eventstore import EventStore, NewEvent
    from gx_kernel.projections import rebuild

    from gx_population.application import area_rebuild

    a, b, c, twin = (uuid.uuid4() for _ in range(4))
    streams = {a: folded_only(a, "450103103201002"), b: folded_only(b, "450103103201003"),
               c: [(e.type, e.data) for e in area_events(c)],
               twin: folded_only(twin, "450103103201002")[:1]}
    live, rebuilt = schemas(), schemas()
    for s in (live, rebuilt):
        await run_migrations(pool, s, [MIGRATIONS])
    store = EventStore(pool, rebuilt)
    async with pool.acquire() as conn:
        for area, typed in streams.items():
            stored = await store.append(f"area-{area}", 0, [NewEvent(t, d) for t, d in typed],
                                        {"actor_name": "张三"})
            for e in stored:  # the live projection: each event in its own commit
                await projections(live).apply(conn, [e])

    async def rows(s):
        async with pool.acquire() as conn:
            areas = [dict(r) for r in await conn.fetch(
                f"SELECT * FROM {s}.areas ORDER BY area_id")]
            for r in areas:
                for k in ("roster_reviews",):  # recorded_at: the event's time, the same
                    r[k] = json.loads(r[k])
            enumerators = [tuple(r) for r in await conn.fetch(
                f"SELECT * FROM {s}.area_enumerators ORDER BY 1, 2")]
        return areas, enumerators

    want = await rows(live)
    assert {r["area_id"] for r in want[0]} == {a, b, c}  # the twin's import did nothing
    assert next(r for r in want[0] if r["area_id"] == a)["version"] == 7
    assert sorted(u for x, u in want[1] if x == a) == ["u-b"]
    for keep, batch in ((50_000, 3), (0, 3), (50_000, 1000)):
        monkeypatch.setattr(area_rebuild, "KEEP_AREAS", keep)
        await rebuild(store, projections(rebuilt), batch_size=batch)
        assert await rows(rebuilt) == want, (keep, batch)
