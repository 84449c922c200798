"""The access matrix of person records through the gateway (issue 11 §8, least access):
every role × inside / outside the jurisdiction × where the household stands (handed in, at
the township, county, region, confirmed). Full view = names (ID numbers masked); counts =
codes and age bands only; none = 404 (403 for the subscriber, at the gateway). Every full
view leaves one audit record."""
import httpx
import pytest
from pop_support import AREA1, HEAD_ID, HEAD_NAME, certify, post, register, setup_year

from tests.harness import wait_for

pytestmark = pytest.mark.integration
P = "/api/v1/population"
READERS = {  # username: (role, inside the household's jurisdiction?)
    "qu_tongji": "region", "nanning_shi": "city", "qingxiu_qu": "county",
    "changtang_zhen": "township", "liuxu_zhen": "other township", "tiantang_cun": "coordinator",
    "dingxi_cun": "other coordinator", "tiantang_wangge": "enumerator", "yunwei": "ops",
    "sheng_xitong": "subscriber"}
ALWAYS = {"qu_tongji": "counts", "nanning_shi": "counts", "qingxiu_qu": "counts",
          "changtang_zhen": "counts", "liuxu_zhen": "none", "tiantang_cun": "full",
          "dingxi_cun": "none", "tiantang_wangge": "full", "yunwei": "counts",
          "sheng_xitong": "forbidden"}
STAGES = {  # where the case is -> who sees identifying fields besides the village
    "handed_in": {}, "township": {"changtang_zhen": "full"}, "county": {"qingxiu_qu": "full"},
    "region": {"qu_tongji": "full"}, "confirmed": {}}


async def _seen(c: httpx.AsyncClient, auth: dict, hid: str) -> str:
    r = await c.get(f"{P}/households/{hid}", headers=auth)
    if r.status_code == 403:
        return "forbidden"
    if r.status_code == 404:
        return "none"
    assert r.status_code == 200, r.text
    body = r.json()
    names = [p.get("name") for p in body["persons"]]
    if body["view"] == "full":
        assert HEAD_NAME in names and HEAD_ID not in r.text  # masked unless revealed
    else:
        assert HEAD_NAME not in r.text and not any(names)
        assert all(p["sex"] and p["age_band"] for p in body["persons"])  # counts still there
    return body["view"]


async def _act(c, auth, case_id, action):
    case = (await c.get(f"/api/v1/workflow/cases/{case_id}", headers=auth)).json()
    r = await post(c, f"/api/v1/workflow/cases/{case_id}/{action}", auth,
                   {"expected_version": case["version"]})
    assert r.status_code == 200, r.text


async def test_every_role_inside_and_outside_at_every_case_level(pop):
    async with httpx.AsyncClient(base_url=pop.gateway_url, timeout=30) as c:
        auth = {u: await pop.login(c, u) for u in READERS}
        areas = await setup_year(c, auth["qu_tongji"])
        await certify(c, auth["tiantang_wangge"])
        r = await post(c, f"{P}/areas/{areas[AREA1]}/assignments", auth["tiantang_cun"],
                       {"username": "tiantang_wangge"})
        done = await register(c, auth["tiantang_wangge"], areas[AREA1])
        hid = done["household_id"]
        region = auth["qu_tongji"]
        before = len((await c.get(f"{P}/access-log", params={"household_id": hid},
                                  headers=region)).json()["items"])

        async def level_is(level):
            async def check():
                r = await c.get(f"{P}/households/{hid}", headers=auth["tiantang_cun"])
                b = r.json()
                return b if b["case_id"] and (b["review_level"] == level if level != "confirmed"
                                              else b["status"] == "confirmed") else None
            return await wait_for(check, 30)

        fulls = 0
        case_id = None
        for stage, extra in STAGES.items():
            if stage == "township":
                r = await post(c, f"{P}/households/{hid}/recheck", auth["tiantang_cun"],
                               {"expected_version": done["version"], "decision": "pass"})
                assert r.status_code == 200, r.text
                case_id = (await level_is("township"))["case_id"]
            elif stage == "county":
                await _act(c, auth["changtang_zhen"], case_id, "approve")
                await level_is("county")
            elif stage == "region":
                await _act(c, auth["qingxiu_qu"], case_id, "approve")
                await level_is("region")
            elif stage == "confirmed":
                await _act(c, region, case_id, "accept")
                await level_is("confirmed")
            got = {u: await _seen(c, auth[u], hid) for u in READERS}
            want = {**ALWAYS, **extra}
            assert got == want, (stage, {u: (got[u], want[u]) for u in got if got[u] != want[u]})
            fulls += sum(1 for v in got.values() if v == "full")
            fulls += 1 if stage != "handed_in" else 0  # level_is reads as the coordinator

        log = (await c.get(f"{P}/access-log", params={"household_id": hid, "limit": 2000},
                           headers=region)).json()["items"]
        assert len(log) - before >= fulls  # every full view was audited (waits read too)
        assert {i["reader_role"] for i in log} >= {"township_statistician", "county_statistician",
                                                   "region_statistician", "village_coordinator",
                                                   "grid_worker"}
        assert all(i["purpose"] == "view" and i["person_ids"] for i in log)
