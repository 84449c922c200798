"""Ledger (台账) from change reports and adjustments with roll-ups; the re-check (复查) against
administrative figures; the post-enumeration check on a constructed case with known omissions
and duplicates, giving the exact rates — all through the gateway on PostgreSQL and the broker."""
import uuid

import httpx
import pytest
from pop_support import (
    AREA1,
    AREA2,
    DINGXI,
    GOOD_PERSONS,
    HEAD_ID,
    HEAD_NAME,
    TIANTANG,
    YEAR,
    certify,
    person,
    post,
    register,
    setup_year,
)

from gx_contracts.roles import DEMO_PASSWORD

from gx_population.domain import idnumber

pytestmark = pytest.mark.integration
P = "/api/v1/population"
A_ID = idnumber.build("450103", __import__("datetime").date(1990, 1, 2), 13)


async def test_ledger_changes_adjustments_and_roll_up(pop):
    async with httpx.AsyncClient(base_url=pop.gateway_url, timeout=30) as c:
        grid = await pop.login(c, "tiantang_wangge")
        coord = await pop.login(c, "tiantang_cun")
        dingxi = await pop.login(c, "dingxi_cun")
        town = await pop.login(c, "changtang_zhen")
        for kind, date in (("birth", "2026-03-05"), ("death", "2026-03-10"),
                           ("move_out", "2026-04-01")):
            r = await post(c, f"{P}/ledger/changes", grid, {"kind": kind, "date": date, "person": {
                "name": HEAD_NAME, "sex": "1", "id_number": HEAD_ID}})
            assert r.status_code == 201 and HEAD_NAME not in r.text, r.text
        r = await post(c, f"{P}/ledger/changes", grid, {"kind": "birth", "date": "2026-03-05",
                       "person": {"name": "x", "sex": "1", "id_number": HEAD_ID[:-1] + "0"}})
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "person.id_number"
        assert (await post(c, f"{P}/ledger/changes", coord, {"kind": "birth", "date": "2026-03-05",
                "person": {"name": "x", "sex": "1"}})).status_code == 403
        for body in ({"month": "2026-01", "indicator": "registered", "delta": 1000,
                      "reason": "期初数：2025年底户籍统计"},
                     {"month": "2026-01", "indicator": "households", "delta": 300,
                      "reason": "期初数"}):
            assert (await post(c, f"{P}/ledger/adjustments", coord, body)).status_code == 201
        r = await post(c, f"{P}/ledger/adjustments", coord, {"month": "2026-01",
                       "indicator": "registered", "delta": 5, "reason": ""})
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "reason"
        assert (await post(c, f"{P}/ledger/adjustments", dingxi, {
            "month": "2026-02", "indicator": "registered", "delta": 500,
            "reason": "期初数"})).status_code == 201

        v = (await c.get(f"{P}/ledger", params={"month": "2026-04"}, headers=coord)).json()
        march, april = v["months"][2], v["months"][3]
        assert march["births"] == 1 and march["deaths"] == 1 and march["registered"] == 1000
        assert april == {"month": "2026-04", "households": 300, "registered": 1000,
                         "out_migrants": 1, "in_migrants": 0, "resident": 999, "births": 0,
                         "deaths": 0}
        assert [ch["kind"] for ch in v["changes"]] == ["move_out"] and "name" not in str(v["changes"])
        assert v["adjustments"] == []
        t = (await c.get(f"{P}/ledger", params={"month": "2026-04", "division": "450103103000"},
                         headers=town)).json()
        assert t["total"]["registered"] == 1500 and t["total"]["households"] == 300
        assert {x["village_code"] for x in t["villages"]} == {TIANTANG, DINGXI}
        r = await c.get(f"{P}/ledger", params={"month": "2026-04", "division": DINGXI},
                        headers=coord)
        assert r.status_code == 403
        assert (await c.get(f"{P}/ledger", params={"month": "2026-13"}, headers=coord)).status_code == 422


async def _user(c, region, username, village):
    r = await post(c, "/api/v1/admin/users", region, {
        "username": username, "name_zh": "复查员", "role": "grid_worker", "division": village,
        "password": DEMO_PASSWORD})
    assert r.status_code == 201, r.text


async def test_recheck_and_pes_constructed_case(pop):
    async with httpx.AsyncClient(base_url=pop.gateway_url, timeout=60) as c:
        region = await pop.login(c, "qu_tongji")
        coord = await pop.login(c, "tiantang_cun")
        grid = await pop.login(c, "tiantang_wangge")
        areas = await setup_year(c, region)
        a1 = areas[AREA1]
        await certify(c, grid)
        await post(c, f"{P}/areas/{a1}/assignments", coord, {"username": "tiantang_wangge"})
        await register(c, grid, a1, "001")  # head + child
        dup_head = person(HEAD_NAME, "0", "1", "1981-03", HEAD_ID)  # the head, counted twice
        second = [dup_head, person("黄测试丙", "1", "1", "1990-01", A_ID),
                  person("黄测试丁", "3", "2", "1950-06", None)]
        await register(c, grid, a1, "002", second)

        # 复查 against the household register's figures, 2 % tolerance (at least 1)
        r = await c.put(f"{P}/areas/{a1}/admin-figures", headers=coord, json={
            "households": 2, "persons": 8, "births": 0, "deaths": 1, "source": "派出所户籍登记"})
        assert r.status_code == 200, r.text
        rc = (await c.get(f"{P}/areas/{a1}/recheck", headers=coord)).json()
        assert rc["registered"] == {"households": 2, "persons": 5, "births": 0, "deaths": 0}
        assert [(d["indicator"], d["difference"]) for d in rc["discrepancies"]] == [("persons", -3)]
        assert rc["open"] == 1
        r = await post(c, f"{P}/areas/{a1}/recheck/explanations", coord, {
            "indicator": "persons", "explanation": "3人户口在本村但常年在外省居住"})
        assert r.status_code == 200
        assert (await c.get(f"{P}/areas/{a1}/recheck", headers=coord)).json()["open"] == 0

        # the sample: reproducible from the recorded seed
        r1 = await post(c, f"{P}/pes/samples", region, {"survey_year": YEAR, "size": 2, "seed": "s2026"})
        r2 = await post(c, f"{P}/pes/samples", region, {"survey_year": YEAR, "size": 2, "seed": "s2026"})
        assert r1.status_code == 201 and r1.json()["area_codes"] == r2.json()["area_codes"]
        assert set(r1.json()["area_codes"]) >= {AREA1, AREA2} or r1.json()["frame_size"] >= 2
        sid = r1.json()["sample_id"]
        r = await post(c, f"{P}/pes/samples", region, {"survey_year": YEAR, "size": 10**4})
        assert r.status_code == 422
        # drawn, nothing matched yet: every drawn area listed (no figures), the chart says so
        res = (await c.get(f"{P}/pes/samples/{sid}/results", headers=region)).json()
        assert [a["area_code"] for a in res["areas"]] == r1.json()["area_codes"]
        assert not any(a["matched"] for a in res["areas"]) and res["areas"][0]["C"] is None
        svg = await c.get(f"{P}/pes/samples/{sid}/chart.svg", headers=region)
        assert svg.status_code == 200 and "暂无数据" in svg.text
        # the team: certified, never the area's own enumerator
        t = f"{P}/pes/samples/{sid}/areas/{a1}/team"
        r = await post(c, t, region, {"usernames": ["tiantang_wangge"]})
        assert r.status_code == 422 and r.json()["code"] == "team_not_independent"
        name = f"pes_{uuid.uuid4().hex[:6]}"
        await _user(c, region, name, TIANTANG)
        checker = await pop.login(c, name)
        r = await post(c, t, region, {"usernames": [name]})
        assert r.status_code == 422 and r.json()["code"] == "team_not_certified"
        await certify(c, checker)
        assert (await post(c, t, region, {"usernames": [name]})).status_code == 200
        # the independent re-enumeration: the head, the child, 丙, and one the survey missed
        rec = f"{P}/pes/samples/{sid}/areas/{a1}/records"
        body = {"persons": [
            {"name": HEAD_NAME, "sex": "1", "birth_year_month": "1981-03", "id_number": HEAD_ID},
            {k: GOOD_PERSONS[1][k] for k in ("name", "sex", "birth_year_month")},
            {"name": "黄测试丙", "sex": "1", "birth_year_month": "1990-01", "id_number": A_ID},
            {"name": "韦漏登戊", "sex": "2", "birth_year_month": "2001-09"}]}
        assert (await post(c, rec, grid, body)).status_code == 403  # not on the team
        assert (await post(c, rec, checker, body)).status_code == 201
        # the enumeration's list stays closed to the team
        hh = (await c.get(f"{P}/households", headers=checker)).json()["items"]
        assert hh == []
        # matching: 丁 was found to have died before the reference time (erroneous)
        enum = [p for h in (await c.get(f"{P}/households", headers=coord)).json()["items"]
                for p in (await c.get(f"{P}/households/{h['household_id']}",
                                       headers=coord)).json()["persons"]]
        ding = next(p["person_id"] for p in enum if p["name"] == "黄测试丁")
        r = await post(c, f"{P}/pes/samples/{sid}/areas/{a1}/match", region, {"erroneous": [ding]})
        assert r.status_code == 200, r.text
        res = (await c.get(f"{P}/pes/samples/{sid}/results", headers=region)).json()
        area = next(a for a in res["areas"] if a["area_code"] == AREA1)
        assert len(res["areas"]) == 2 and res["unmatched"] == [
            a for a in r1.json()["area_codes"] if a != AREA1]
        assert (area["C"], area["II"], area["CE"], area["P"], area["M"]) == (5, 0, 3, 4, 3)
        assert area["omission_rate"] == 0.25 and area["erroneous_inclusion_rate"] == 0.4
        assert area["dse_simple"] == round(20 / 3, 6) and area["dse"] == 4.0
        assert area["net_coverage_error"] == -0.25
        assert res["seed"] == "s2026" and "N̂ = C · P / M" in res["formulas"]["dse_simple"]
        decisions = res["decisions"][AREA1]
        assert sorted(d["method"] or "-" for d in decisions) == ["-", "id_number", "id_number",
                                                                "name_sex_birth"]
        assert all(d["reason"] for d in decisions) and HEAD_NAME not in str(res)
        svg = await c.get(f"{P}/pes/samples/{sid}/chart.svg", headers=region)
        assert svg.status_code == 200 and svg.text.lstrip().startswith("<?xml")
        pdf = await c.get(f"{P}/pes/samples/{sid}/results.pdf", headers=region)
        assert pdf.status_code == 200 and pdf.content[:5] == b"%PDF-"
        import io

        from pypdf import PdfReader
        printed = "".join(pg.extract_text() for pg in PdfReader(io.BytesIO(pdf.content)).pages)
        assert "25.00%" in printed and "40.00%" in printed and "s2026" in printed
        assert HEAD_NAME not in printed and HEAD_ID not in printed  # the export names no one
        assert (await c.get(f"{P}/pes/samples/{sid}/results", headers=coord)).status_code == 403
