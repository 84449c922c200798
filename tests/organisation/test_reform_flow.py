"""The issue's done path through the gateway on the real PostgreSQL and broker: the region
records 52号's scope, 南宁 chooses 青秀区, the county records its office and staff and files
its plan, submits a progress report that the county, city and region review, and the region
sees the reform across Guangxi on one page. With jurisdiction and bad input at each step."""
from __future__ import annotations

import httpx
import pytest

from tests.harness import wait_for
from tests.organisation.support import (
    BAISE,
    CHANGTANG,
    DOC,
    LUZHAI,
    NANNING,
    QINGXIU,
    TIANTANG,
    XINGNING,
    People,
)

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
async def people(stack):
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=30) as client:
        yield People(stack, client)


async def test_region_records_the_scope_of_52hao(people):
    r = await people.post("qu_tongji", "/reforms/from-document", {"document_no": DOC})
    assert r.status_code == 201, r.text
    assert r.json()["counties"] == 15
    again = await people.post("qu_tongji", "/reforms/from-document", {"document_no": DOC})
    assert again.status_code == 200  # recorded again: same scope, next version
    ref = (await people.get("qingxiu_qu", "/reforms/2019")).json()
    bases = {c["county_code"]: c["basis"] for c in ref["counties"]}
    assert sum(b == "full_rollout" for b in bases.values()) == 8
    assert sum(b == "pilot" for b in bases.values()) == 7
    assert bases[LUZHAI] == "pilot" and bases["451003000000"] == "full_rollout"  # 田阳
    assert [p["end"] for p in ref["phases"]] == ["2019-05-31", "2019-06-30", "2019-11-30",
                                                 "2019-12-10"]
    assert ref["report_due_dates"] == ["2019-07-15", "2019-09-15", "2019-12-10"]
    # only the region records a scope; an unknown document is named
    r = await people.post("nanning_shi", "/reforms/from-document", {"document_no": DOC})
    assert r.status_code == 403
    r = await people.post("qu_tongji", "/reforms/from-document", {"document_no": "桂统字〔2099〕1号"})
    assert r.status_code == 422 and r.json()["code"] == "unknown_document"


async def test_city_chooses_its_county(people):
    r = await people.post("nanning_shi", "/reforms/2019/choices", {"county_code": QINGXIU})
    assert r.status_code == 201, r.text
    r = await people.post("nanning_shi", "/reforms/2019/choices", {"county_code": LUZHAI})
    assert r.status_code == 403  # 鹿寨 is 柳州's
    r = await people.post("nanning_shi", "/reforms/2019/choices", {"county_code": "4501"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"].endswith("county_code")
    ref = (await people.get("qu_tongji", "/reforms/2019")).json()
    chosen = {c["county_code"]: c for c in ref["counties"]}[QINGXIU]
    assert chosen["basis"] == "city_choice" and chosen["chosen_by"] == NANNING
    assert {c["city_code"]: c["chosen"] for c in ref["choosing_cities"]}[NANNING] is True


def staff_body(s: tuple) -> dict:
    name, role, div, mode, est, account = s
    return {"person_name": name, "role": role, "division_code": div, "staffing_mode": mode,
            "start_date": "2019-07-01", "in_establishment": est, "account_username": account}


async def test_county_records_its_office_and_staff(people):
    r = await people.post("qingxiu_qu", "/offices", {
        "division_code": QINGXIU, "kind": "county_management",
        "name": "青秀区统计局乡镇（街道）统计工作管理办公室", "establishment": 4})
    assert r.status_code == 201, r.text
    r = await people.post("qingxiu_qu", "/offices", {
        "division_code": CHANGTANG, "kind": "township_office", "name": "长塘镇统计工作办公室",
        "host_department": "长塘镇党政综合办公室", "establishment": 0})
    assert r.status_code == 201, r.text
    # bad input: a township office at a county code; another county's township
    r = await people.post("qingxiu_qu", "/offices", {
        "division_code": QINGXIU, "kind": "township_office", "name": "x", "establishment": 0})
    assert r.status_code == 422 and r.json()["code"] == "wrong_level"
    r = await people.post("qingxiu_qu", "/offices", {
        "division_code": "450102001000", "kind": "township_office", "name": "x",
        "establishment": 0})
    assert r.status_code == 403
    r = await people.post("qingxiu_qu", "/offices", {
        "division_code": QINGXIU, "kind": "county_management", "name": "x", "establishment": -1})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "establishment"
    staff = [("陆建国", "county_office_staff", QINGXIU, "dispatched", True, None),
             ("黄丽", "township_statistician", CHANGTANG, "full_time", False, "changtang_zhen"),
             ("韦明", "township_statistician", CHANGTANG, "purchased_service", False, None),
             ("黄春兰", "village_coordinator", TIANTANG, "part_time", False, "tiantang_cun"),
             ("卢小燕", "grid_worker", TIANTANG, "part_time", False, "tiantang_wangge")]
    for name, role, div, mode, est, account in staff:
        r = await people.post("qingxiu_qu", "/appointments", {
            "person_name": name, "role": role, "division_code": div, "staffing_mode": mode,
            "start_date": "2019-07-01", "in_establishment": est, "account_username": account})
        assert r.status_code == 201, r.text
    r = await people.post("qingxiu_qu", "/appointments", {
        "person_name": "甲", "role": "village_coordinator", "division_code": TIANTANG,
        "staffing_mode": "part_time", "start_date": "2019-07-01", "end_date": "2019-06-01"})
    assert r.status_code == 422 and "end_date" in r.text
    r = await people.post("qingxiu_qu", "/appointments", {
        "person_name": "甲", "role": "village_coordinator", "division_code": CHANGTANG,
        "staffing_mode": "part_time", "start_date": "2019-07-01"})
    assert r.status_code == 422 and r.json()["code"] == "wrong_level"
    r = await people.post("qingxiu_qu", "/appointments", {
        "person_name": "甲", "role": "village_coordinator", "division_code": TIANTANG,
        "staffing_mode": "volunteer", "start_date": "2019-07-01"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "staffing_mode"
    # an enterprise statistician names the 联网直报 unit
    unit = {"person_name": "李会计", "role": "enterprise_statistician", "division_code": TIANTANG,
            "staffing_mode": "part_time", "start_date": "2019-07-01"}
    r = await people.post("qingxiu_qu", "/appointments", unit)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "unit_name"
    r = await people.post("changtang_zhen", "/appointments", {**unit, "unit_name": "南宁某糖业有限公司"})
    assert r.status_code == 201, r.text  # a township records its villages' people
    r = await people.post("changtang_zhen", "/appointments", {**staff_body(staff[0])})
    assert r.status_code == 403  # but not the county's office staff
    mine = (await people.get("qingxiu_qu", "/appointments")).json()["items"]
    assert {a["person_name"] for a in mine} >= {"陆建国", "黄春兰"}
    assert {a["staffing_mode_zh"] for a in mine} == {"派驻", "专职", "购买服务", "兼职"}
    # the township sees its own people only; another county sees none of them
    town = (await people.get("changtang_zhen", "/appointments")).json()["items"]
    assert town and all(a["division_code"].startswith("450103103") for a in town)
    r = await people.get("qingxiu_qu", "/appointments", division=XINGNING)
    assert r.status_code == 403


async def test_county_files_its_plan_and_leading_group(people):
    r = await people.post("qingxiu_qu", "/plans", {
        "year": 2019, "division_code": QINGXIU, "title": "青秀区统计有效管理模式改革试点工作实施方案",
        "document_no": "青政办〔2019〕18号", "approved_by": "中共青秀区委、青秀区人民政府",
        "approved_on": "2019-06-20", "filed_with": "南宁市统计局", "filed_on": "2019-06-25"})
    assert r.status_code == 201, r.text
    r = await people.post("qingxiu_qu", "/plans", {
        "year": 2019, "division_code": QINGXIU, "title": "x", "approved_by": "x",
        "approved_on": "2019-06-20", "filed_with": "x", "filed_on": "2019-06-01"})
    assert r.status_code == 422 and "filed_on" in r.text
    r = await people.post("qingxiu_qu", "/plans", {
        "year": 2019, "division_code": NANNING, "title": "x", "approved_by": "x",
        "approved_on": "2019-06-20", "filed_with": "x", "filed_on": "2019-06-21"})
    assert r.status_code == 403  # the city's plan is the city's
    r = await people.post("qingxiu_qu", "/leading-groups", {
        "year": 2019, "division_code": QINGXIU, "name": "青秀区统计管理体制改革工作领导小组",
        "members": [{"name": "覃丽华", "post": "青秀区统计局局长", "group_role": "leader"},
                    {"name": "梁勇", "post": "青秀区委编办副主任", "group_role": "member"}]})
    assert r.status_code == 201, r.text
    r = await people.post("qingxiu_qu", "/leading-groups", {
        "year": 2019, "division_code": QINGXIU, "name": "x",
        "members": [{"name": "甲", "post": "乙", "group_role": "member"}]})
    assert r.status_code == 422  # 须有组长
    ref = (await people.get("nanning_shi", "/reforms/2019")).json()
    assert ref["plans"][0]["filed_with"] == "南宁市统计局"
    assert ref["leading_groups"][0]["members"][0]["group_role"] == "leader"


async def test_progress_report_climbs_county_city_region(people):
    path = f"/progress-reports/{QINGXIU}/2019-07-15"
    r = await people.put("qingxiu_qu", path + "/draft", {
        "sections": {"progress": "已设立管理办公室，向长塘镇派驻统计人员1名。", "problems": "经费未完全落实"},
        "figures": {"townships_total": 11, "staff_dispatched": 1},
        "attachments": [{"title": "青秀区改革试点工作实施方案", "document_no": "青政办〔2019〕18号"}],
        "expected_version": 0})
    assert r.status_code == 200, r.text
    version = r.json()["version"]
    # bad input: a date that is not a due date; a county outside the reform; a stale version
    r = await people.put("qingxiu_qu", f"/progress-reports/{QINGXIU}/2019-08-01/draft",
                         {"expected_version": 0})
    assert r.status_code == 422 and r.json()["code"] == "not_a_due_date"
    r = await people.put("qingxiu_qu", path + "/draft", {"expected_version": 0})
    assert r.status_code == 409
    r = await people.put("qingxiu_qu", path + "/draft", {"figures": {"staff": -1},
                                                         "expected_version": version})
    assert r.status_code == 422
    r = await people.put("nanning_shi", path + "/draft", {"expected_version": version})
    assert r.status_code == 403  # only the county fills its report
    key = "submit-qingxiu-0715"
    r = await people.post("qingxiu_qu", path + "/submit", {"expected_version": version}, key=key)
    assert r.status_code == 200, r.text
    assert r.json()["late"] is True  # 2019-07-15 has long passed
    again = await people.post("qingxiu_qu", path + "/submit", {"expected_version": version},
                              key=key)
    assert again.status_code == 200 and again.json() == r.json()  # a retry is safe
    rid = r.json()["report_id"]
    case = await people.case_for("qingxiu_qu", rid)
    assert case["level"] == "county"
    assert (await people.act("qingxiu_qu", case, "approve", comment="同意上报")).status_code == 200
    case = await people.case_for("nanning_shi", rid, case["version"])
    assert case["level"] == "city"
    assert (await people.act("nanning_shi", case, "approve")).status_code == 200
    case = await people.case_for("qu_tongji", rid, case["version"])
    assert case["level"] == "region"
    assert (await people.act("qu_tongji", case, "accept")).status_code == 200

    async def confirmed():
        b = (await people.get("qingxiu_qu", path)).json()
        return b if b["status"] == "confirmed" else None
    body = await wait_for(confirmed, 30)
    assert body["late"] is True and body["status_zh"] == "自治区已验收"
    r = await people.put("qingxiu_qu", path + "/draft", {"expected_version": body["version"]})
    assert r.status_code == 409 and r.json()["code"] == "report_read_only"
    # another county cannot see it
    r = await people.get("changtang_zhen", "/progress-reports", year=2019)
    assert r.json()["items"] == []


async def test_region_sees_the_reform_across_guangxi(people):
    d = (await people.get("qu_tongji", "/dashboard", year=2019)).json()
    rows = {r["code"]: r for r in d["rows"]}
    assert len(rows) == 14
    assert rows[BAISE]["in_reform"] == "8 个县"
    assert rows[NANNING]["in_reform"] == "1 个县"
    assert rows["450500000000"]["in_reform"] == "待市选取"  # 北海 has not chosen yet
    assert rows["450200000000"]["in_reform"] == "1 个县"  # 柳州: 鹿寨县, named in 52号
    assert rows[NANNING]["reports_confirmed"] == 1 and rows[NANNING]["reports_late"] == 1
    assert rows[NANNING]["establishment"] == 4 and rows[NANNING]["staff"] == 6
    assert rows[NANNING]["dispatched"] == 1 and rows[NANNING]["in_establishment"] == 1
    # 应报 = counties in the reform × due dates passed; 逾期未报 = those not submitted
    assert rows[NANNING]["reports_due"] == 3 and rows[NANNING]["reports_missing"] == 2
    assert rows[BAISE]["reports_due"] == 24 and rows[BAISE]["reports_missing"] == 24
    assert d["reform"]["document_no"] == DOC and d["total"]["in_reform"] == "16 个县"
    # drill down: 南宁 → its counties → 青秀区's townships
    city = (await people.get("qu_tongji", "/dashboard", year=2019, division=NANNING)).json()
    assert {r["code"]: r for r in city["rows"]}[QINGXIU]["in_reform"] == "市选取试点"
    county = (await people.get("qingxiu_qu", "/dashboard", year=2019)).json()
    town = {r["code"]: r for r in county["rows"]}
    assert all(c.startswith("450103") for c in town)
    assert town[CHANGTANG]["township_offices"] == 1 and town[CHANGTANG]["staff"] == 5
    own = town[QINGXIU]  # 本级: the county's management office and its staff
    assert own["own"] and own["establishment"] == 4 and own["in_establishment"] == 1
    assert county["total"]["in_reform"] == "市选取试点" and county["total"]["staff"] == 6
    r = await people.get("qingxiu_qu", "/dashboard", division=NANNING)
    assert r.status_code == 403  # a county sees only its own townships
    r = await people.get("qingxiu_qu", "/dashboard", division="45010300000x")
    assert r.status_code == 422
    csv = await people.get("qu_tongji", "/dashboard/export", year=2019, format="csv")
    assert csv.status_code == 200 and "百色市" in csv.content.decode("utf-8-sig")
    assert "filename*=UTF-8''" in csv.headers["content-disposition"]
    xlsx = await people.get("qu_tongji", "/dashboard/export", year=2019, format="xlsx")
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    page = await people.get("qu_tongji", "/dashboard/print", year=2019)
    assert page.status_code == 200 and "统计管理体制改革工作总览" in page.text
