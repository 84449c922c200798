"""附件4 registration through the gateway on the real PostgreSQL and broker: certification
gate, read-back required, ID-number rules, the village re-check, the chain, least access."""
import asyncio

import httpx
import pytest
from pop_support import (
    AREA1,
    AREA2,
    CHILD_ID,
    CHILD_NAME,
    GOOD_PERSONS,
    HEAD_ID,
    HEAD_NAME,
    QUESTIONS,
    YEAR,
    certify,
    household,
    key,
    person,
    post,
    setup_year,
)

from tests.harness import wait_for

pytestmark = pytest.mark.integration
P = "/api/v1/population"


async def _act(c, auth, case_id, action, **body):
    case = (await c.get(f"/api/v1/workflow/cases/{case_id}", headers=auth)).json()
    r = await post(c, f"/api/v1/workflow/cases/{case_id}/{action}", auth,
                   {"expected_version": case["version"], **body})
    assert r.status_code == 200, r.text
    return r.json()


async def _status(c, auth, hid, status, field="status"):
    async def check():
        r = await c.get(f"{P}/households/{hid}", headers=auth)
        return r.json() if r.status_code == 200 and r.json().get(field) == status else None
    return await wait_for(check, 30)


async def test_register_read_back_recheck_and_the_chain(pop):
    async with httpx.AsyncClient(base_url=pop.gateway_url, timeout=30) as c:
        region = await pop.login(c, "qu_tongji")
        coord = await pop.login(c, "tiantang_cun")
        other_coord = await pop.login(c, "dingxi_cun")
        grid = await pop.login(c, "tiantang_wangge")
        town = await pop.login(c, "changtang_zhen")
        county = await pop.login(c, "qingxiu_qu")
        areas = await setup_year(c, region)
        a1 = areas[AREA1]
        body = {"household": household(), "persons": GOOD_PERSONS, "expected_version": 0}

        # the certification gate: not certified → 403 with the reason in Chinese
        r = await post(c, f"{P}/areas/{a1}/households", grid, body)
        assert r.status_code == 403 and r.json()["code"] == "enumerator_not_certified"
        assert "调查员资格" in r.json()["detail"]
        exam = (await c.get(f"{P}/exams/{YEAR}", headers=grid)).json()
        assert all("answer" not in q for q in exam["questions"]) and not exam["certified"]
        r = await post(c, f"{P}/exams/{YEAR}/attempts", grid, {"answers": {"q1": 1, "q2": 0}})
        assert r.status_code == 200 and r.json() == {**r.json(), "score": 20, "passed": False}
        await certify(c, grid)
        # certified, but not assigned to the area → 403
        r = await post(c, f"{P}/areas/{a1}/households", grid, body)
        assert r.status_code == 403 and r.json()["code"] == "enumerator_not_assigned"
        assert "未被分配" in r.json()["detail"]
        # another village's coordinator cannot see (or assign in) this area
        r = await post(c, f"{P}/areas/{a1}/assignments", other_coord, {"username": "tiantang_wangge"})
        assert r.status_code == 404
        r = await post(c, f"{P}/areas/{a1}/assignments", coord, {"username": "tiantang_wangge"})
        assert r.status_code == 200 and r.json()["enumerators"] == ["tiantang_wangge"]
        # the enumerator's own village only: the other area does not exist for them
        r = await post(c, f"{P}/areas/{areas[AREA2]}/households", grid, body)
        assert r.status_code == 404

        # ID-number rules: wrong check digit, sex and birth disagreeing with the number
        bad_id = HEAD_ID[:-1] + ("0" if HEAD_ID[-1] != "0" else "1")
        wrong = [person(HEAD_NAME, "0", "2", "1981-04", bad_id), GOOD_PERSONS[1]]
        r = await post(c, f"{P}/areas/{a1}/households", grid,
                       {**body, "persons": wrong})
        assert r.status_code == 201, r.text
        hid, v = r.json()["household_id"], r.json()["version"]
        by_field = {f["field"]: f for f in r.json()["findings"]}
        assert by_field["persons.0.id_number"]["severity"] == "error"
        assert "校验码" in by_field["persons.0.id_number"]["message"]
        assert HEAD_NAME not in r.text and bad_id not in r.text  # findings name no one
        wrong2 = [person(HEAD_NAME, "0", "2", "1981-04", HEAD_ID), GOOD_PERSONS[1]]
        r = await post(c, f"{P}/areas/{a1}/households", grid,
                       {**body, "persons": wrong2, "expected_version": v})
        fields = {f["field"] for f in r.json()["findings"]}
        assert {"persons.0.sex", "persons.0.birth_year_month"} <= fields, r.json()["findings"]
        v = r.json()["version"]
        # read-back required before hand-in
        r = await post(c, f"{P}/households/{hid}/hand-in", grid, {"expected_version": v})
        assert r.status_code == 422 and r.json()["code"] == "read_back_required"
        # correct it; a stale version is a conflict
        ids = r.json()  # noqa: F841
        good = {**body, "expected_version": v}
        assert (await post(c, f"{P}/areas/{a1}/households", grid,
                           {**good, "expected_version": v - 1})).status_code == 409
        r = await post(c, f"{P}/areas/{a1}/households", grid, good)
        assert r.status_code == 200 and not [f for f in r.json()["findings"]
                                             if f["severity"] == "error"], r.text
        v = r.json()["version"]
        rb = await c.get(f"{P}/households/{hid}/readback", headers=grid)
        assert rb.status_code == 200 and rb.headers["cache-control"] == "no-store"
        assert HEAD_NAME in rb.json()["text"] and HEAD_ID in rb.json()["text"]
        assert "壮族" in rb.json()["text"] and "1981年3月" in rb.json()["text"]
        # only the enumerator reads back; the respondent's confirmation is explicit
        assert (await c.get(f"{P}/households/{hid}/readback", headers=coord)).status_code == 403
        r = await post(c, f"{P}/households/{hid}/readback", grid,
                       {"expected_version": v, "respondent": "head", "confirmed": False})
        assert r.status_code == 422
        r = await post(c, f"{P}/households/{hid}/readback", grid,
                       {"expected_version": v, "respondent": "head", "confirmed": True})
        assert r.status_code == 200, r.text
        rb_rec = r.json()["read_back"]
        assert rb_rec["enumerator"] and rb_rec["confirmed_at"] and rb_rec["draft_version"] == v
        v = r.json()["version"]
        r = await post(c, f"{P}/households/{hid}/hand-in", grid, {"expected_version": v})
        assert r.status_code == 200 and r.json()["status"] == "handed_in", r.text
        v = r.json()["version"]
        # handed in: read-only for the enumerator
        r = await post(c, f"{P}/areas/{a1}/households", grid, {**good, "expected_version": v})
        assert r.status_code == 409 and r.json()["code"] == "household_handed_in"

        # the village coordinator's re-check: return first (reason required), then pass
        r = await post(c, f"{P}/households/{hid}/recheck", coord,
                       {"expected_version": v, "decision": "return"})
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "reason"
        r = await post(c, f"{P}/households/{hid}/recheck", grid,
                       {"expected_version": v, "decision": "pass"})
        assert r.status_code == 403
        r = await post(c, f"{P}/households/{hid}/recheck", coord,
                       {"expected_version": v, "decision": "return", "reason": "请核实户主出生年月"})
        assert r.status_code == 200 and r.json()["status"] == "draft"
        v = r.json()["version"]
        # a return needs a new read-back before the next hand-in
        r = await post(c, f"{P}/households/{hid}/hand-in", grid, {"expected_version": v})
        assert r.status_code == 422 and r.json()["code"] == "read_back_required"
        r = await post(c, f"{P}/households/{hid}/readback", grid,
                       {"expected_version": v, "respondent": "member", "confirmed": True})
        r = await post(c, f"{P}/households/{hid}/hand-in", grid,
                       {"expected_version": r.json()["version"]})
        v = r.json()["version"]
        r = await post(c, f"{P}/households/{hid}/recheck", coord,
                       {"expected_version": v, "decision": "pass"})
        assert r.status_code == 200 and r.json()["status"] == "submitted", r.text

        # the chain: the township's queue holds the case (workflow follows population.events)
        async def in_queue(auth):
            q = (await c.get("/api/v1/workflow/queue", headers=auth)).json()
            return next((i for i in q.get("items", []) if i["subject_id"] == hid), None)
        case = await wait_for(lambda: in_queue(town), 30)
        hh = await _status(c, town, hid, "township", field="review_level")
        # least access: the case is at the township, so it sees names, ID numbers masked
        assert hh["view"] == "full"
        head = hh["persons"][0]
        assert head["name"] == HEAD_NAME and head["id_number"] == HEAD_ID[:4] + "*" * 10 + HEAD_ID[-4:]
        assert (await c.get(f"{P}/households/{hid}", headers=county)).json()["view"] == "counts"
        cnt = (await c.get(f"{P}/households/{hid}", headers=county)).json()
        assert HEAD_NAME not in str(cnt) and "name" not in cnt["persons"][0]
        assert cnt["persons"][0]["sex"] == "1" and cnt["persons"][0]["age_band"] == "45-49岁"
        # reveal with a reason: the full number, audited
        r = await post(c, f"{P}/households/{hid}/persons/{head['person_id']}/reveal", town,
                       {"reason_code": "V01"})
        assert r.status_code == 200 and r.json()["id_number"] == HEAD_ID
        r = await post(c, f"{P}/households/{hid}/persons/{head['person_id']}/reveal", county,
                       {"reason_code": "V01"})
        assert r.status_code == 403 and r.json()["code"] == "person_record_forbidden"
        r = await post(c, f"{P}/households/{hid}/persons/{head['person_id']}/reveal", town,
                       {"reason_code": "X1"})
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "reason_code"

        await _act(c, town, case["case_id"], "approve", comment="审核无误")
        hh = await _status(c, county, hid, "county", field="review_level")
        assert hh["view"] == "full"
        assert (await c.get(f"{P}/households/{hid}", headers=town)).json()["view"] == "counts"
        await _act(c, county, case["case_id"], "approve")
        await _status(c, region, hid, "region", field="review_level")
        await _act(c, region, case["case_id"], "accept", comment="审核确认")
        hh = await _status(c, region, hid, "confirmed")
        assert hh["view"] == "counts" and hh["person_count"] == 2

        # audit: every read of identifying fields, listable by the region only
        log = (await c.get(f"{P}/access-log", params={"household_id": hid}, headers=region)).json()
        purposes = [(i["reader_role"], i["purpose"]) for i in log["items"]]
        assert ("township_statistician", "reveal_id_number") in purposes
        assert ("township_statistician", "view") in purposes
        assert ("grid_worker", "view") in purposes  # the read-back screen
        assert all(i["reader_role"] != "county_statistician" or i["purpose"] == "view"
                   for i in log["items"])
        reveal = next(i for i in log["items"] if i["purpose"] == "reveal_id_number")
        assert reveal["reason_code"] == "V01" and reveal["at"] and reveal["reader"]
        assert (await c.get(f"{P}/access-log", headers=coord)).status_code == 403
        assert (await c.get(f"{P}/access-log", headers=town)).status_code == 403

        # the enumerator lists their households as counts and statuses
        items = (await c.get(f"{P}/households", headers=grid)).json()["items"]
        assert [i["household_id"] for i in items] == [hid]
        assert HEAD_NAME not in str(items) and CHILD_NAME not in str(items)
        # idempotent retry of a save answers the first result again
        body2 = {"household": household("002"), "persons": GOOD_PERSONS, "expected_version": 0}
        k = key()
        r1 = await c.post(f"{P}/areas/{a1}/households", headers={**grid, **k}, json=body2)
        r2 = await c.post(f"{P}/areas/{a1}/households", headers={**grid, **k}, json=body2)
        assert r1.status_code == 201 and r2.json() == r1.json()
        assert CHILD_ID not in r1.text


async def test_bad_input_is_refused_naming_the_field(pop):
    async with httpx.AsyncClient(base_url=pop.gateway_url, timeout=30) as c:
        region = await pop.login(c, "qu_tongji")
        grid = await pop.login(c, "tiantang_wangge")
        areas = await setup_year(c, region)
        a1 = areas[AREA1]
        base = {"household": household(), "persons": GOOD_PERSONS, "expected_version": 0}
        cases = [
            ({**base, "extra": 1}, "extra"),
            ({**base, "persons": [{**GOOD_PERSONS[0], "name": "名" * 41}]}, "persons.0.name"),
            ({**base, "persons": [{**GOOD_PERSONS[0], "name": "a\x00b"}]}, "persons.0.name"),
            ({**base, "persons": [{**GOOD_PERSONS[0], "sex": 1}]}, "persons.0.sex"),
            ({**base, "persons": [GOOD_PERSONS[0]] * 101}, "persons"),
            ({**base, "household": {**household(), "household_no": "1"}}, "household.household_no"),
            ({**base, "household": {**household(), "persons_at_reference": -1}},
             "household.persons_at_reference"),
            ({**base, "expected_version": "x"}, "expected_version"),
        ]
        for body, field in cases:
            r = await post(c, f"{P}/areas/{a1}/households", grid, body)
            assert r.status_code == 422, (field, r.text)
            assert any(e["field"].startswith(field) for e in r.json()["errors"]), (field, r.text)
            assert HEAD_NAME not in r.text and HEAD_ID not in r.text
        assert (await c.get(f"{P}/households/not-a-uuid", headers=grid)).status_code == 422
        assert (await post(c, f"{P}/areas/import", region, {"survey_year": YEAR, "items": [
            {"area_code": "459999999999001", "name": "x", "urban_rural_code": "220"}]})
            ).status_code == 422
        assert (await post(c, f"{P}/areas/import", grid, {"survey_year": YEAR, "items": [
            {"area_code": AREA1, "name": "x", "urban_rural_code": "220"}]})).status_code == 403
        r = await c.put(f"{P}/exams/{YEAR}", headers={**region, **key()}, json={
            "pass_mark": 80, "questions": [{**QUESTIONS[0], "answer": 5}]})
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "questions.0.answer"
        r = await post(c, f"{P}/households/00000000-0000-0000-0000-000000000000/hand-in", grid,
                       {"expected_version": 0})
        assert r.status_code == 404
        await asyncio.sleep(0)


async def test_an_omitted_id_number_keeps_the_registered_one(pop):
    """The phone shows a registered ID number masked; saving the person without the field
    keeps it (and the rules still check it)."""
    async with httpx.AsyncClient(base_url=pop.gateway_url, timeout=30) as c:
        region = await pop.login(c, "qu_tongji")
        coord = await pop.login(c, "tiantang_cun")
        grid = await pop.login(c, "tiantang_wangge")
        areas = await setup_year(c, region)
        a1 = areas[AREA1]
        await certify(c, grid)
        await post(c, f"{P}/areas/{a1}/assignments", coord, {"username": "tiantang_wangge"})
        body = {"household": household("009"), "persons": GOOD_PERSONS, "expected_version": 0}
        r = await post(c, f"{P}/areas/{a1}/households", grid, body)
        assert r.status_code in (200, 201), r.text
        hid, ids, v = r.json()["household_id"], r.json()["person_ids"], r.json()["version"]
        again = [{**{k: val for k, val in p.items() if k != "id_number"}, "person_id": pid}
                 for p, pid in zip(GOOD_PERSONS, ids)]
        again[0]["sex"] = "2"  # now disagrees with the kept number: the rule still sees it
        r = await post(c, f"{P}/areas/{a1}/households", grid,
                       {**body, "persons": again, "expected_version": v})
        assert r.status_code == 200 and r.json()["person_ids"] == ids, r.text
        assert "persons.0.sex" in {f["field"] for f in r.json()["findings"]}
        rb = (await c.get(f"{P}/households/{hid}/readback", headers=grid)).json()["text"]
        assert HEAD_ID in rb and CHILD_ID in rb
