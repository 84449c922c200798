"""Demo data of the organisation service (统计工作组织) for `make run`, through the gateway.

The region records the reform's real scope from 桂统字〔2019〕52号 (the packaged document: 百色's
8 counties, the 7 named pilots, the phases and due dates); 南宁 chooses 青秀区 as its pilot; 青秀区
records its management office, township offices and staff in every staffing mode, its plan
and leading group, and submits its 7/15 progress report, which the county passes to the city.
Each step looks first and carries a fixed Idempotency-Key: a re-run changes nothing.
"""
from __future__ import annotations

from typing import Any

DOC = "桂统字〔2019〕52号"
COUNTY, CITY = "450103000000", "450100000000"
CHANGTANG, LIUXU = "450103103000", "450103100000"
BASE = "/organisation"

OFFICES = [
    {"division_code": COUNTY, "kind": "county_management", "establishment": 4,
     "name": "青秀区统计局乡镇（街道）统计工作管理办公室"},
    {"division_code": CHANGTANG, "kind": "township_office", "establishment": 0,
     "name": "长塘镇统计工作办公室", "host_department": "长塘镇党政综合办公室"},
    {"division_code": LIUXU, "kind": "township_office", "establishment": 0,
     "name": "刘圩镇统计工作办公室", "host_department": "刘圩镇经济发展办公室"},
]
# (姓名, 岗位, 区划, 用人方式, 占编, 平台账号); demo people, names of the demo accounts where
# they have one (gx_contracts.roles.DEMO_USERS, gx_devstack.demo.EXTRA_COORDINATORS)
STAFF = [
    ("覃丽华", "county_office_staff", COUNTY, "full_time", True, "qingxiu_qu"),
    ("黎志勇", "county_office_staff", COUNTY, "dispatched", True, None),
    ("陆建国", "township_statistician", CHANGTANG, "dispatched", False, "changtang_zhen"),
    ("韦春燕", "township_statistician", CHANGTANG, "purchased_service", False, None),
    ("蒙海燕", "township_statistician", LIUXU, "full_time", False, "liuxu_zhen"),
    ("黄春兰", "village_coordinator", "450103103201", "part_time", False, "tiantang_cun"),
    ("莫振华", "village_coordinator", "450103103202", "part_time", False, "dingxi_cun"),
    ("韦光明", "village_coordinator", "450103103203", "part_time", False, "dongjiang_cun"),
    ("卢小燕", "grid_worker", "450103103201", "part_time", False, "tiantang_wangge"),
]
PLAN = {"year": 2019, "division_code": COUNTY,
        "title": "青秀区县级统计机构对乡镇（街道）统计有效管理模式改革试点工作实施方案",
        "document_no": "青办发〔2019〕21号", "approved_by": "中共南宁市青秀区委员会、青秀区人民政府",
        "approved_on": "2019-06-24", "filed_with": "南宁市统计局", "filed_on": "2019-06-28"}
GROUP = {"year": 2019, "division_code": COUNTY, "name": "青秀区统计管理体制改革工作领导小组",
         "members": [{"name": "覃丽华", "post": "青秀区统计局局长", "group_role": "leader"},
                     {"name": "黎志勇", "post": "青秀区统计局副局长", "group_role": "deputy"},
                     {"name": "陆建国", "post": "长塘镇统计站站长", "group_role": "member"}]}
REPORT = {"sections": {
    "progress": "区统计局设立乡镇（街道）统计工作管理办公室，核定编制4名；向长塘镇派驻统计人员1名，"
                "长塘镇、刘圩镇在党政综合办、经济发展办加挂统计工作办公室。",
    "measures": "推行“派驻、专职、购买服务”三结合；村（社区）聘任统计协管员，落实工作补助。",
    "problems": "部分乡镇专职统计人员尚未到位，统计专线网络未全覆盖。",
    "next_steps": "9月底前完成全部乡镇统计工作办公室挂牌，开展乡、村两级统计人员全员培训。"},
    "figures": {"townships_total": 11, "townships_with_office": 2, "staff_dispatched": 2,
                "staff_full_time": 2, "staff_purchased": 1, "villages_with_coordinator": 3},
    "attachments": [{"title": PLAN["title"], "document_no": PLAN["document_no"]}]}


def load_organisation(api: Any) -> dict[str, Any]:
    """Run every step (each skipped when done already); what it found or did."""
    done: dict[str, Any] = {}
    reform = api.call("GET", f"{BASE}/reforms/2019", "qu_tongji", ok=(200, 404))
    if reform.status_code == 404:
        api.call("POST", f"{BASE}/reforms/from-document", "qu_tongji", key="demo-org-scope-2019",
                 json={"document_no": DOC})
        reform = api.call("GET", f"{BASE}/reforms/2019", "qu_tongji")
    counties = {c["county_code"] for c in reform.json()["counties"]}
    done["reform_counties"] = len(counties)
    if COUNTY not in counties:
        api.call("POST", f"{BASE}/reforms/2019/choices", "nanning_shi", key="demo-org-choice",
                 json={"county_code": COUNTY})
    have = {(o["division_code"], o["kind"]) for o in
            api.call("GET", f"{BASE}/offices", "qingxiu_qu").json()["items"]}
    for o in OFFICES:
        if (o["division_code"], o["kind"]) not in have:
            api.call("POST", f"{BASE}/offices", "qingxiu_qu", ok=(200, 201, 409),
                     key=f"demo-org-office-{o['division_code']}-{o['kind']}", json=o)
    people = {a["person_name"] for a in
              api.call("GET", f"{BASE}/appointments", "qingxiu_qu").json()["items"]}
    for i, (name, role, div, mode, est, account) in enumerate(STAFF):
        if name not in people:  # keys are ASCII (HTTP headers): the person's place in STAFF
            api.call("POST", f"{BASE}/appointments", "qingxiu_qu", key=f"demo-org-appoint-{i}",
                     json={"person_name": name, "role": role, "division_code": div,
                           "staffing_mode": mode, "start_date": "2019-07-01",
                           "in_establishment": est, "account_username": account})
    seen = api.call("GET", f"{BASE}/reforms/2019", "qingxiu_qu").json()
    if not seen["plans"]:
        api.call("POST", f"{BASE}/plans", "qingxiu_qu", ok=(200, 201, 409), key="demo-org-plan",
                 json=PLAN)
    if not seen["leading_groups"]:
        api.call("POST", f"{BASE}/leading-groups", "qingxiu_qu", ok=(200, 201, 409),
                 key="demo-org-group", json=GROUP)
    path = f"{BASE}/progress-reports/{COUNTY}/2019-07-15"
    report = api.call("GET", path, "qingxiu_qu").json()
    if report["status"] == "not_started":
        saved = api.call("PUT", path + "/draft", "qingxiu_qu", key="demo-org-report-draft",
                         json={**REPORT, "expected_version": 0}).json()
        api.call("POST", path + "/submit", "qingxiu_qu", key="demo-org-report-submit",
                 json={"expected_version": saved["version"]})
        report = api.call("GET", path, "qingxiu_qu").json()
        _county_passes_it_up(api, report["report_id"])
    done["progress_report"] = api.call("GET", path, "qingxiu_qu").json()["status"]
    return done


def _county_passes_it_up(api: Any, report_id: str) -> None:
    """The county signs its report off to the city (the city's review is left to the demo user)."""
    def case() -> Any:
        r = api.call("GET", f"/workflow/cases/by-subject/organisation.progress_report/{report_id}",
                     "qingxiu_qu", ok=(200, 404))
        return r.json() if r.status_code == 200 else None
    c = api.wait("progress report case", case, 30)
    if c["status"] == "in_review" and c["level"] == "county":
        api.call("POST", f"/workflow/cases/{c['case_id']}/approve", "qingxiu_qu",
                 key=f"demo-org-approve-{c['case_id']}",
                 json={"expected_version": c["version"], "comment": "同意上报南宁市统计局"})
