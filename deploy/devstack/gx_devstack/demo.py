"""Demo data for `make run`, loaded through the gateway's public API only (as people would).

The region publishes two agricultural tasks to 青秀区; coordinators of 长塘镇's villages fill and
submit; the township approves some and returns one; the county passes one up to the region.
Every step looks at the current state first and carries an Idempotency-Key, so a re-run on the
same data changes nothing. Any failure is a warning: `make run` never stops because of it.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from gx_contracts.roles import DEMO_PASSWORD, DEMO_USERS

from gx_devstack.demo_organisation import load_organisation
from gx_devstack.demo_registry import load_registry

log = logging.getLogger("gx_devstack.demo")

COUNTY = "450103000000"  # 青秀区
DEADLINE = "2026-12-31T18:00:00+08:00"
TASKS = {
    "A301": {"form_code": "A301", "period": "2026-EARLY", "title": "2026年早稻农作物播种面积及产量",
             "scope_division": COUNTY, "deadline": DEADLINE},
    "A302": {"form_code": "A302", "period": "2026-Q4", "title": "2026年第四季度畜禽饲养及出栏情况",
             "scope_division": COUNTY, "deadline": DEADLINE},
}

# More coordinators of 长塘镇 (450103103), real village codes from the division tree.
# Each is a person: name_zh is their 姓名.
EXTRA_COORDINATORS = [
    {"username": u, "name_zh": n, "division": d}
    for u, n, d in (("dongjiang_cun", "韦光明", "450103103203"),
                    ("fengmu_cun", "覃美玲", "450103103204"),
                    ("nazeng_cun", "蓝海涛", "450103103205"),
                    ("changda_cun", "廖秋菊", "450103103206"))
]


def crops(early: float, maize: float, sugar: float, veg: float, fruit: float,
          rice_yield: float = 405) -> dict[str, float]:
    """Early-season crop figures of a village (亩, 公斤, 吨) consistent with the form's rules."""
    grain = early + maize
    return {"crop_area": round(grain + sugar + veg, 1), "grain_area": round(grain, 1),
            "early_rice_area": early, "early_rice_output": round(early * rice_yield),
            "maize_area": maize, "maize_output": round(maize * 310),
            "sugarcane_area": sugar, "sugarcane_output": round(sugar * 5.6, 2),
            "vegetables_area": veg, "vegetables_output": round(veg * 1.8, 2),
            "fruit_area": fruit, "fruit_output": round(fruit * 1.2, 2)}


def livestock(pigs: int, sows: int, cattle: int, poultry: int) -> dict[str, int]:
    return {"pigs_opening": pigs, "pigs_closing": pigs - 30, "pigs_slaughter": pigs // 2,
            "sows_closing": sows, "cattle_opening": cattle, "cattle_closing": cattle - 2,
            "cattle_slaughter": cattle // 5, "poultry_opening": poultry,
            "poultry_closing": poultry - 500, "poultry_slaughter": poultry * 2}


@dataclass
class Plan:
    """What happens to one village's report: values, then submit, then the reviewers' actions."""

    user: str
    form: str
    values: dict[str, Any]
    explanations: dict[str, str] = field(default_factory=dict)
    submit: bool = True
    township: str | None = None  # "approve" | "return" | None (stays in the township's queue)
    county: str | None = None


SUPER_RICE = "今年全村推广超级稻新品种，经乡农技站实割实测，亩产约680公斤"
PLANS = [
    Plan("tiantang_cun", "A301", crops(1260, 320, 850, 410, 300, rice_yield=680),
         {"early_rice_output": SUPER_RICE}, township="approve", county="approve"),
    Plan("dingxi_cun", "A301", crops(980, 260, 1200, 300, 520), township="approve"),
    Plan("dongjiang_cun", "A301", crops(760, 410, 640, 280, 180), township="approve"),
    Plan("fengmu_cun", "A301", crops(1100, 150, 900, 350, 260), township="return"),
    Plan("nazeng_cun", "A301", crops(540, 380, 1500, 220, 660, rice_yield=650),
         {"early_rice_output": "新建高标准农田投产，早稻单产明显提高"}),
    Plan("changda_cun", "A301", crops(820, 200, 700, 260, 140), submit=False),
    Plan("tiantang_cun", "A302", livestock(860, 92, 120, 12000)),
    Plan("dingxi_cun", "A302", livestock(640, 70, 85, 9000)),
]
RETURN = {"reason_code": "R03", "reason": "早稻单产与往年差异较大，请与农户核实实割实测数据后重报",
          "field_notes": {"early_rice_output": "请核实早稻产量，附实测依据"}}


def users_table() -> str:
    rows = [("username", "role", "division", "姓名")]
    rows += [(u["username"], u["role"], u["division"], u["name_zh"]) for u in DEMO_USERS]
    rows += [(u["username"], "village_coordinator", u["division"], u["name_zh"])
             for u in EXTRA_COORDINATORS]
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = ["  ".join(r[i].ljust(widths[i]) for i in range(3)) + "  " + r[3] for r in rows]
    return "\n".join(lines) + f"\n(password for all: {DEMO_PASSWORD})"


class DemoError(Exception):
    pass


class Api:
    """The gateway as each demo person sees it (one login per person, kept)."""

    def __init__(self, client: httpx.Client, base: str):
        self.client, self.base, self.tokens = client, base, {}

    def headers(self, who: str, key: str | None = None) -> dict[str, str]:
        if who not in self.tokens:
            r = self.client.post(f"{self.base}/auth/login",
                                 json={"username": who, "password": DEMO_PASSWORD})
            if r.status_code != 200:
                raise DemoError(f"login {who}: {r.status_code} {r.text[:200]}")
            self.tokens[who] = r.json()["access_token"]
        h = {"Authorization": f"Bearer {self.tokens[who]}"}
        return {**h, "Idempotency-Key": key} if key else h

    def call(self, method: str, path: str, who: str, key: str | None = None,
             ok: tuple[int, ...] = (200, 201), **kw) -> httpx.Response:
        r = self.client.request(method, f"{self.base}{path}", headers=self.headers(who, key), **kw)
        if r.status_code not in ok:
            raise DemoError(f"{method} {path} as {who}: {r.status_code} {r.text[:300]}")
        return r

    def wait(self, what: str, probe, timeout: float):
        """Poll `probe` until it returns something truthy (the services work asynchronously)."""
        deadline = time.monotonic() + timeout
        while True:
            got = probe()
            if got:
                return got
            if time.monotonic() > deadline:
                raise DemoError(f"timed out waiting for {what}")
            time.sleep(0.2)


def _step(summary: dict, what: str, fn, *args):
    """Run one step; a failure becomes a warning and the demo goes on."""
    try:
        return fn(*args)
    except (DemoError, httpx.HTTPError, KeyError, ValueError, TypeError) as exc:
        log.warning("demo: %s failed: %s", what, exc)
        summary["warnings"].append(f"{what}: {exc}")
        return None


def publish(api: Api, form: str) -> str:
    spec = TASKS[form]
    existing = api.call("GET", "/agri/tasks", "qu_tongji").json()["items"]
    for t in existing:  # published before (by an earlier run or by hand): use it
        if (t["form_code"], t["period"], t["scope_division"]) == (
                spec["form_code"], spec["period"], spec["scope_division"]):
            return t["task_id"]
    r = api.call("POST", "/agri/tasks", "qu_tongji", key=f"demo-task-{form}-{spec['period']}",
                 json=spec)
    return r.json()["task_id"]


def create_user(api: Api, u: dict[str, str]) -> bool:
    r = api.call("POST", "/admin/users", "qu_tongji", ok=(201, 409), json={
        **u, "role": "village_coordinator", "password": DEMO_PASSWORD})
    return r.status_code == 201


def fill(api: Api, plan: Plan, task_id: str) -> str:
    """Save (and submit) the village's report unless it has moved on already; its report id."""
    items = api.call("GET", "/agri/tasks", plan.user).json()["items"]
    mine = next(i for i in items if i["task_id"] == task_id)
    rid, status, version = mine["report_id"], mine["status"], mine["report_version"]
    if status == "not_started":  # a draft left by an earlier run is submitted as it is
        r = api.call("PUT", f"/agri/reports/{rid}/draft", plan.user,
                     key=f"demo-draft-{rid}-{version}", json={
                         "values": plan.values, "explanations": plan.explanations,
                         "expected_version": version})
        status, version = r.json()["status"], r.json()["version"]
    if plan.submit and status == "draft":
        api.call("POST", f"/agri/reports/{rid}/submit", plan.user, key=f"demo-submit-{rid}",
                 json={"expected_version": version})
    return rid


def review(api: Api, who: str, level: str, action: str, rid: str) -> bool:
    """Act on the report's case once it waits at `level`; False when it is past that already."""
    path = f"/workflow/cases/by-subject/agri.report/{rid}"

    def case():
        r = api.call("GET", path, who, ok=(200, 404))
        return r.json() if r.status_code == 200 else None
    c = api.wait(f"review case of {rid}", case, 30)
    if c["status"] != "in_review" or c["level"] != level:
        return False
    key = f"demo-{action}-{c['case_id']}-{c['version']}"
    body = {"expected_version": c["version"]}
    body.update(RETURN if action == "return" else {"comment": "数据审核无误，同意上报"})
    api.call("POST", f"/workflow/cases/{c['case_id']}/{action}", who, key=key, json=body)
    return True


def settle(api: Api, rid: str, want) -> dict:
    """Wait until agri shows the effect of the review chain (it follows workflow events)."""
    def probe():
        r = api.call("GET", f"/agri/reports/{rid}", "changtang_zhen").json()
        return r if want(r) else None
    return api.wait(f"report {rid} to settle", probe, 30)


def _load(api: Api, summary: dict) -> None:
    tasks = {f: _step(summary, f"publish {f}", publish, api, f) for f in TASKS}
    summary["tasks"] = {f: {"task_id": t, **TASKS[f]} for f, t in tasks.items() if t}
    created = [u["username"] for u in EXTRA_COORDINATORS
               if _step(summary, f"create user {u['username']}", create_user, api, u)]
    summary["users_created"] = created
    rids: dict[int, str] = {}
    for i, plan in enumerate(PLANS):
        if tasks.get(plan.form):
            rid = _step(summary, f"fill {plan.form} as {plan.user}", fill, api, plan, tasks[plan.form])
            if rid:
                rids[i] = rid
    for i, plan in enumerate(PLANS):
        if plan.township and i in rids:
            _step(summary, f"township {plan.township} {plan.user}", review, api,
                  "changtang_zhen", "township", plan.township, rids[i])
    for i, plan in enumerate(PLANS):
        if plan.county and i in rids:
            _step(summary, f"county {plan.county} {plan.user}", review, api,
                  "qingxiu_qu", "county", plan.county, rids[i])
    for i, plan in enumerate(PLANS):
        if i in rids:
            summary["reports"][f"{plan.form}/{plan.user}"] = _step(
                summary, f"state of {plan.user}", settle, api, rids[i], _settled(plan))
    summary["organisation"] = _step(summary, "organisation (52号 scope, 青秀区 staff and report)",
                                    load_organisation, api)
    summary["registry"] = _step(summary, "registry (青秀区 stock, task list to 天堂村)",
                                load_registry, api)


def _settled(plan: Plan):
    expect_level = ("region" if plan.county == "approve" else
                    "county" if plan.township == "approve" else "township")

    def want(r: dict) -> bool:
        if not plan.submit:
            return r["status"] in ("draft", "not_started")
        if plan.township == "return":
            return r["status"] == "returned"
        return r["status"] == "submitted" and r["review_level"] == expect_level
    return want


def load_demo(gateway_url: str, timeout: float = 15.0) -> dict[str, Any]:
    """Load the demo data; returns a summary (`ok` False when something was skipped)."""
    base = gateway_url.rstrip("/") + "/api/v1"
    summary: dict[str, Any] = {"ok": False, "tasks": {}, "users_created": [], "reports": {},
                               "warnings": []}
    try:
        with httpx.Client(timeout=timeout) as client:
            _load(Api(client, base), summary)
    except Exception as exc:  # noqa: BLE001 - demo data must never stop `make run`
        log.warning("demo data incomplete: %s", exc)
        summary["warnings"].append(str(exc))
    summary["ok"] = not summary["warnings"]
    for line in describe(summary):
        log.info(line)
    return summary


def describe(summary: dict[str, Any]) -> list[str]:
    lines = ["demo data" + ("" if summary["ok"] else f" (with {len(summary['warnings'])} warnings)")
             + ":"]
    for f, t in summary["tasks"].items():
        lines.append(f"  task {f} {t['period']} → 青秀区: {t['task_id']}")
    if summary["users_created"]:
        lines.append(f"  coordinators created: {', '.join(summary['users_created'])}")
    for name, r in summary["reports"].items():
        if r:
            where = f" at {r['review_level']}" if r["status"] == "submitted" else ""
            lines.append(f"  {name}: {r['status']}{where}")
    if reg := summary.get("registry"):
        lines.append(f"  register 青秀区: {reg['units']} units ({reg['status']}); task list pushed "
                     f"down {reg['pushed']}")
    if org := summary.get("organisation"):
        lines.append(f"  reform 2019 (52号): {org['reform_counties']} counties; "
                     f"青秀区 7/15 progress report: {org['progress_report']}")
    return lines
