"""Households from before migration 0005 (their lifecycle state — case, review level,
acceptance — only in the row, no review_followed events; some with no events at all): 0005
adopts each with one history_adopted event, and a rebuild gives identical rows."""
import datetime as dt
import json
import shutil
import uuid

import pytest
from test_rebuild_population_http import read_models

from gx_contracts.divisions import Level
from gx_contracts.events.population import PersonEntry
from gx_kernel.eventstore import EventStore, NewEvent
from gx_kernel.migrations import run_migrations
from gx_kernel.projections import rebuild

from gx_population.adapters.schema import MIGRATIONS
from gx_population.application.projections import projections
from gx_population.domain.household import Household
from tests.migration_support import pool, schemas  # noqa: F401 - fixtures

pytestmark = pytest.mark.integration
VILLAGE, AREA_CODE = "450103103201", "450103103201001"
SEALED = "gxp1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"  # a sealed value as stored (not decrypted here)


async def rows(conn, s):
    """The household and person rows (and the areas' correction columns), as the rebuild test
    compares them."""
    return await read_models(conn, s)


def entry(sex: str, band: str) -> PersonEntry:
    return PersonEntry(person_id=uuid.uuid4(), age_band=band, fields={
        "name": SEALED, "id_number": SEALED, "birth_year_month": SEALED, "relationship": "0",
        "sex": sex, "ethnicity": "08", "education": "4"})


async def test_households_from_before_0005_keep_their_state_through_a_rebuild(
        pool, schemas, tmp_path):  # noqa: F811 - fixtures
    s = schemas()
    before = tmp_path / "gx_population" / "migrations"
    before.mkdir(parents=True)
    for f in sorted(MIGRATIONS.glob("000[1-4]_*.sql")):
        shutil.copy(f, before)
    await run_migrations(pool, s, [before])  # the kernel's tables and population's 0001-0004
    store = EventStore(pool, s)
    area = uuid.uuid4()
    # the area from its import event, as every area row is (a rebuild empties `areas` too)
    await store.append(f"area-{area}", 0, [NewEvent("population.area.imported", {
        "area_id": str(area), "survey_year": 2026, "area_code": AREA_CODE,
        "village_code": VILLAGE, "name": "天堂村第一调查小区", "urban_rural_code": "220"})])
    # 1. registered and in the chain, as the release before wrote it: its own events up to the
    # township's acceptance, the case and the county level only in the row
    in_chain = Household(uuid.uuid4(), area, AREA_CODE, VILLAGE, 2026, "001", "u-grid")
    in_chain.save(form_version="2026.1", household={"household_no": "001", "household_type": "1",
                                                    "persons_at_reference": 2},
                  persons=[entry("1", "40-44岁"), entry("2", "10-14岁")], blocking=0)
    in_chain.confirm_readback(at=dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.UTC),
                              enumerator="u-grid", device="dev-1", respondent="head")
    in_chain.hand_in()
    in_chain.recheck_pass(title="住户表 第001户", field_labels={}, rechecked_by="u-coord")
    await store.append(in_chain.stream_id, 0, in_chain.pending_events, {"actor": "u-grid"})
    await rebuild(store, projections(s))  # the rows those events gave
    case = uuid.uuid4()
    async with pool.acquire() as conn:  # what the old consumer wrote beside the events
        await conn.execute(
            f"UPDATE {s}.households SET status = 'accepted', case_id = $2, review_level = 'county',"
            f" accepted_level = 'township', approved_rank = $3 WHERE household_id = $1",
            in_chain.household_id, case, Level.township.rank)
        # 2. a household returned from the county, with no events at all (rows only), one of
        # its persons erased
        returned, kept, erased = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
        await conn.execute(
            f"INSERT INTO {s}.households (household_id, area_id, area_code, village_code,"
            f" survey_year, household_no, form_version, enumerator, stage, status, version,"
            f" revision, draft_version, household, findings, person_count, case_id,"
            f" return_reason, return_from_level, field_notes) VALUES ($1, $2, $3, $4, 2026,"
            f" '002', '2026.1', 'u-grid', 'registering', 'returned', 0, 1, 0, $5::jsonb,"
            f" $6::jsonb, 2, $7, '请核实出生年月', 'county', $8::jsonb)",
            returned, area, AREA_CODE, VILLAGE,
            json.dumps({"household_no": "002", "household_type": "1", "persons_at_reference": 2}),
            json.dumps([{"rule_id": "S1", "severity": "warning", "field": "persons.1.education",
                         "message": "第2人受教育程度与年龄不符"}]),
            case, json.dumps({"persons.1.birth_year_month": "与户口簿不符"}))
        await conn.executemany(
            f"INSERT INTO {s}.persons (person_id, household_id, position, fields, sex, age_band,"
            f" erased_at, erasure_reason) VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7, $8)",
            [(kept, returned, 0, json.dumps({"name": SEALED, "sex": "1", "relationship": "0"}),
              "1", "60-64岁", None, None),
             (erased, returned, 1, json.dumps({"sex": "2", "relationship": "1"}), "2", "55-59岁",
              dt.datetime(2026, 11, 20, tzinfo=dt.UTC), "E01")])
        old = await rows(conn, s)
    await rebuild(store, projections(s))
    async with pool.acquire() as conn:
        lost = await rows(conn, s)
    assert lost != old  # without 0005 a rebuild loses the case and level, and household 2

    async with pool.acquire() as conn:  # the rows as they were (the rebuild above undone)
        await conn.execute(f"TRUNCATE {s}.persons, {s}.households")
        for h in old["households"]:
            cols = list(h)
            await conn.execute(
                f"INSERT INTO {s}.households ({', '.join(cols)}) VALUES"
                f" ({', '.join(f'${i + 1}' for i in range(len(cols)))})",
                *[json.dumps(v) if isinstance(v, (dict, list)) else v for v in h.values()])
        for p in old["persons"]:
            await conn.execute(
                f"INSERT INTO {s}.persons (person_id, household_id, position, fields, sex,"
                f" age_band, erasure_reason, erased_at) VALUES ($1,$2,$3,$4::jsonb,$5,$6,$7,"
                f" CASE WHEN $8 THEN now() END)", p["person_id"], p["household_id"],
                p["position"], json.dumps(p["fields"]) if isinstance(p["fields"], dict)
                else p["fields"], p["sex"], p["age_band"], p["erasure_reason"], p["erased"])
        assert await rows(conn, s) == old

    await run_migrations(pool, s, [MIGRATIONS], kernel=False)  # 0005
    for hid, version in ((in_chain.household_id, 5), (returned, 1)):
        stream = await store.read_stream(f"household-{hid}")
        assert [e.version for e in stream][-1] == version
        assert stream[-1].type == "population.household.history_adopted"
    async with pool.acquire() as conn:
        adopted = await rows(conn, s)
    assert {h["household_id"]: h["version"] for h in adopted["households"]} == {
        in_chain.household_id: 5, returned: 1}
    assert [{**h, "version": 0} for h in adopted["households"]] == \
           [{**h, "version": 0} for h in old["households"]]  # only the version moved
    await rebuild(store, projections(s))
    async with pool.acquire() as conn:
        again = await rows(conn, s)
    assert again == adopted
    chain = next(h for h in again["households"] if h["household_id"] == in_chain.household_id)
    assert (chain["case_id"], chain["review_level"], chain["stage"]) == (case, "county",
                                                                          "in_chain")
    back = next(h for h in again["households"] if h["household_id"] == returned)
    assert (back["status"], back["return_from_level"], back["field_notes"]) == (
        "returned", "county", json.dumps({"persons.1.birth_year_month": "与户口簿不符"},
                                         ensure_ascii=False))
    assert [p["erased"] for p in again["persons"] if p["household_id"] == returned].count(True) == 1
    await run_migrations(pool, s, [MIGRATIONS], kernel=False)  # applied once only
    assert len(await store.read_stream(f"household-{returned}")) == 1
