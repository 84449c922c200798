"""Sample areas (调查小区) verified by the coordinator, the household-head roster (户主姓名底册)
sealed and read under least access, and its review (复议) recorded — through the gateway."""
import httpx
import pytest
from pop_support import AREA1, AREA2, YEAR, post, setup_year

pytestmark = pytest.mark.integration
P = "/api/v1/population"
HEADS = ["覃底册甲", "蒙底册乙", "陆底册丙"]


async def _area(c, auth, code):
    items = (await c.get(f"{P}/areas", params={"survey_year": YEAR}, headers=auth)).json()["items"]
    return next(a for a in items if a["area_code"] == code)


async def test_verify_roster_and_review(pop):
    async with httpx.AsyncClient(base_url=pop.gateway_url, timeout=30) as c:
        region = await pop.login(c, "qu_tongji")
        coord = await pop.login(c, "tiantang_cun")
        other = await pop.login(c, "dingxi_cun")
        grid = await pop.login(c, "tiantang_wangge")
        town = await pop.login(c, "changtang_zhen")
        areas = await setup_year(c, region)
        a1 = areas[AREA1]
        again = await post(c, f"{P}/areas/import", region, {"survey_year": YEAR, "items": [
            {"area_code": AREA1, "name": "天堂村第一调查小区", "urban_rural_code": "220"}]})
        assert again.json()["imported"] == 0 and again.json()["already"] == 1  # safe to repeat
        # the coordinator sees her village's areas only
        codes = [a["area_code"] for a in (await c.get(f"{P}/areas", headers=coord)).json()["items"]]
        assert codes == [AREA1]
        assert AREA2 in [a["area_code"] for a in (await c.get(f"{P}/areas", headers=town)).json()["items"]]

        # verification: boundary, numbered buildings (recorded at once), a corrected
        # urban-rural attribute (a correction: it climbs the chain, test_area_corrections_http)
        r = await post(c, f"{P}/areas/{a1}/verification", coord, {
            "boundary": "东至村道，南至河堤，西至学校围墙，北至山脚", "buildings": ["001 韦家楼", "002 村委楼"],
            "name": "天堂村第一调查小区", "urban_rural_code": "210"})
        assert r.status_code == 202 and r.json()["corrected"] is True, r.text
        assert r.json()["correction"]["changed"] == ["urban_rural_code"]
        assert (await post(c, f"{P}/areas/{a1}/verification", other, {
            "boundary": "x", "buildings": [], "name": "x", "urban_rural_code": "210"})).status_code == 404
        assert (await post(c, f"{P}/areas/{a1}/verification", coord, {
            "boundary": "", "buildings": [], "name": "x", "urban_rural_code": "999"})).status_code == 422
        area = await _area(c, coord, AREA1)
        assert area["verified"] and area["buildings"] == ["001 韦家楼", "002 村委楼"]
        assert area["correction"]["status"] == "submitted"
        assert area["current"]["urban_rural_code"] == "220"  # until the chain accepts it

        # the roster: head names sealed, only the village and the area's enumerators read them
        lines = [{"building_no": "001", "dwelling_no": f"10{i}", "head_name": n,
                  "household_size": 3 + i, "household_type": "1"} for i, n in enumerate(HEADS)]
        r = await c.put(f"{P}/areas/{a1}/roster", headers={**coord, "Idempotency-Key": "ro-1"},
                        json={"entries": lines, "expected_version": area["version"]})
        assert r.status_code == 200, r.text
        assert not any(n in r.text for n in HEADS)
        version, ids = r.json()["version"], r.json()["entry_ids"]
        assert (await c.put(f"{P}/areas/{a1}/roster", headers=grid, json={
            "entries": lines, "expected_version": version})).status_code == 403
        mine = (await c.get(f"{P}/areas/{a1}/roster", headers=coord)).json()
        assert [e["head_name"] for e in mine["entries"]] == HEADS
        assert mine["households"] == 3 and mine["persons"] == 12
        seen = (await c.get(f"{P}/areas/{a1}/roster", headers=town)).json()
        assert seen["view"] == "counts" and seen["persons"] == 12
        assert not any(n in str(seen) for n in HEADS)
        # 复议: who took part, households added and removed with the reason
        r = await post(c, f"{P}/areas/{a1}/roster/reviews", coord, {
            "held_on": "2026-10-20", "participants": ["村委会主任", "村民小组长", "居民代表"],
            "added": [ids[2]], "removed": [{"entry_id": ids[1], "reason": "全户已迁往外省"}],
            "note": "逐户核对，无遗漏", "expected_version": version})
        assert r.status_code == 200, r.text
        r2 = await post(c, f"{P}/areas/{a1}/roster/reviews", coord, {
            "held_on": "2026-10-20", "participants": [], "expected_version": r.json()["version"]})
        assert r2.status_code == 422 and r2.json()["errors"][0]["field"] == "participants"
        reviews = (await c.get(f"{P}/areas/{a1}/roster", headers=coord)).json()["reviews"]
        assert reviews[0]["participants"] == ["村委会主任", "村民小组长", "居民代表"]
        assert reviews[0]["removed"][0]["reason"] == "全户已迁往外省" and reviews[0]["recorded_by"]
        log = (await c.get(f"{P}/access-log", headers=region)).json()["items"]
        assert any(i["purpose"] == "view_roster" and i["reader_role"] == "village_coordinator"
                   for i in log)
