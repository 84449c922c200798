"""The household rows (lifecycle columns included) and the area corrections are functions of
the population stream alone: after flows through the gateway (the chain with a return, a
resubmission and an approval; an erasure; a returned area correction), the read models are
emptied and rebuilt from the events to the same rows."""
import asyncpg
import httpx
import pytest
from pop_support import AREA1, certify, post, register, setup_year

from gx_kernel.eventstore import EventStore
from gx_kernel.projections import ProjectionRegistry, rebuild

from gx_population.application import area_projections, area_rebuild, household_projections
from gx_population.application.projections import READ_MODELS, projections
from tests.harness import wait_for

pytestmark = pytest.mark.integration
P = "/api/v1/population"


async def _act(c, auth, case_id, action, **body):
    case = (await c.get(f"/api/v1/workflow/cases/{case_id}", headers=auth)).json()
    r = await post(c, f"/api/v1/workflow/cases/{case_id}/{action}", auth,
                   {"expected_version": case["version"], **body})
    assert r.status_code == 200, r.text


async def _household(c, auth, hid, **want):
    async def check():
        h = (await c.get(f"{P}/households/{hid}", headers=auth)).json()
        return h if all(h.get(k) == v for k, v in want.items()) else None
    return await wait_for(check, 30)


async def _case(c, auth, subject_id):
    async def check():
        q = (await c.get("/api/v1/workflow/queue", headers=auth)).json()
        return next((i for i in q.get("items", []) if i["subject_id"] == subject_id), None)
    return await wait_for(check, 30)


async def read_models(conn, s):
    hh = [dict(r) for r in await conn.fetch(f"SELECT * FROM {s}.households ORDER BY household_id")]
    for r in hh:
        r.pop("updated_at")
    persons = [dict(r) for r in await conn.fetch(
        f"SELECT person_id, household_id, position, fields, sex, age_band, erasure_reason,"
        f" erased_at IS NOT NULL AS erased FROM {s}.persons ORDER BY person_id")]
    areas = [dict(r) for r in await conn.fetch(
        f"SELECT area_id, correction, correction_id FROM {s}.areas ORDER BY area_id")]
    return {"households": hh, "persons": persons, "areas": areas}


async def every_read_model(conn, s):
    """Each read-model table's rows as sorted JSON, without the columns set to now() when
    written (a rebuild writes them later; an erasure's time becomes whether it was erased)."""
    out = {}
    for t in READ_MODELS:
        rows = await conn.fetch(
            f"SELECT (to_jsonb(x) - 'updated_at' - 'published_at' - 'erased_at')"
            f" || CASE WHEN to_jsonb(x) ? 'erased_at' THEN jsonb_build_object('erased',"
            f" to_jsonb(x)->'erased_at' <> 'null'::jsonb) ELSE '{{}}'::jsonb END AS r"
            f" FROM {s}.{t} x")
        out[t] = sorted(r["r"] for r in rows)
    return out


async def test_households_and_area_corrections_rebuild_from_their_events(pop, monkeypatch):
    async with httpx.AsyncClient(base_url=pop.gateway_url, timeout=30) as c:
        region = await pop.login(c, "qu_tongji")
        coord = await pop.login(c, "tiantang_cun")
        grid = await pop.login(c, "tiantang_wangge")
        town = await pop.login(c, "changtang_zhen")
        areas = await setup_year(c, region)
        a1 = areas[AREA1]
        await certify(c, grid)
        assert (await post(c, f"{P}/areas/{a1}/assignments", coord,
                           {"username": "tiantang_wangge"})).status_code == 200
        done = await register(c, grid, a1)
        hid = done["household_id"]
        r = await post(c, f"{P}/households/{hid}/recheck", coord,
                       {"expected_version": done["version"], "decision": "pass"})
        assert r.status_code == 200, r.text
        case = await _case(c, town, hid)
        await _act(c, town, case["case_id"], "approve", comment="通过")
        h = await _household(c, region, hid, review_level="county")
        assert h["status"] == "submitted"
        # the region erases the child
        child = (await c.get(f"{P}/households/{hid}", headers=coord)).json()["persons"][1]
        r = await post(c, f"{P}/households/{hid}/persons/{child['person_id']}/erase", region,
                       {"reason_code": "E01"})
        assert r.status_code == 200, r.text
        # a second household returned from the township
        other = await register(c, grid, a1, no="002")
        r = await post(c, f"{P}/households/{other['household_id']}/recheck", coord,
                       {"expected_version": other["version"], "decision": "pass"})
        case2 = await _case(c, town, other["household_id"])
        await _act(c, town, case2["case_id"], "return", reason_code="R01", reason="请核实人数")
        await _household(c, coord, other["household_id"], status="returned")
        # an area correction, returned by the township
        r = await post(c, f"{P}/areas/{a1}/verification", coord, {
            "boundary": "东至村道", "buildings": ["1号楼"], "name": "天堂村第一调查小区",
            "urban_rural_code": "210"})
        assert r.status_code == 202, r.text
        case3 = await _case(c, town, r.json()["correction"]["correction_id"])
        await _act(c, town, case3["case_id"], "return", reason_code="R01", reason="城乡属性有误")

        async def correction_returned():
            items = (await c.get(f"{P}/areas", headers=coord)).json()["items"]
            a = next(x for x in items if x["area_id"] == a1)
            return a if (a["correction"] or {}).get("status") == "returned" else None
        await wait_for(correction_returned, 30)

    s = pop.schema("population")
    pool = await asyncpg.create_pool(pop.database_url, min_size=1, max_size=2)
    try:
        async with pool.acquire() as conn:
            before = await read_models(conn, s)
            row = next(r for r in before["households"] if str(r["household_id"]) == hid)
            assert (row["stage"], row["status"], row["review_level"], row["revision"]) == (
                "in_chain", "submitted", "county", 1)
            assert row["case_id"] is not None and row["approved_rank"] > 0
            await conn.execute(f"DELETE FROM {s}.persons; DELETE FROM {s}.households;"
                               f" UPDATE {s}.areas SET correction = NULL, correction_id = NULL")
        registry = ProjectionRegistry()
        household_projections.register(registry, s)
        area_projections.register(registry, s)
        result = await rebuild(EventStore(pool, s), registry, batch_size=5)
        assert result.events > 10
        async with pool.acquire() as conn:
            after = await read_models(conn, s)
            whole = await every_read_model(conn, s)
        assert after == before
        assert whole["areas"] and whole["households"] and whole["area_enumerators"]
        assert whole["access_log"] and whole["certifications"]
        # the whole registry: every table emptied and rebuilt from the events, in one
        # transaction and per batch, with the area rows kept in memory across the batches
        # and (KEEP_AREAS 0) written after each area's every event
        for keep, one in ((area_rebuild.KEEP_AREAS, True), (0, False), (0, True)):
            monkeypatch.setattr(area_rebuild, "KEEP_AREAS", keep)
            result = await rebuild(EventStore(pool, s), projections(s), batch_size=7,
                                   one_transaction=one)
            async with pool.acquire() as conn:
                assert await every_read_model(conn, s) == whole, (keep, one)
            assert result.events > 20
    finally:
        await pool.close()
