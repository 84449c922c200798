"""Demo users (seeded by the gateway when GX_DEMO=1) and demo data loaded through the public API."""
from __future__ import annotations

import logging

import httpx

log = logging.getLogger("gx_devstack.demo")

DEMO_PASSWORD = "Demo@2026"

# The gateway seeds the same table from gx_contracts; this copy is only for printing.
DEMO_USERS: list[dict[str, str]] = [
    {"username": "qu_tongji", "role": "region_statistician", "division": "450000000000", "name": "自治区统计局"},
    {"username": "nanning_shi", "role": "city_statistician", "division": "450100000000", "name": "南宁市统计局"},
    {"username": "qingxiu_qu", "role": "county_statistician", "division": "450103000000", "name": "青秀区统计局"},
    {"username": "changtang_zhen", "role": "township_statistician", "division": "450103103000", "name": "长塘镇"},
    {"username": "liuxu_zhen", "role": "township_statistician", "division": "450103100000", "name": "刘圩镇"},
    {"username": "tiantang_cun", "role": "village_coordinator", "division": "450103103201", "name": "天堂村委会"},
    {"username": "dingxi_cun", "role": "village_coordinator", "division": "450103103202", "name": "定西村委会"},
    {"username": "tiantang_wangge", "role": "grid_worker", "division": "450103103201", "name": "天堂村网格员"},
    {"username": "sheng_xitong", "role": "subscriber", "division": "450000000000", "name": "其他省级系统"},
    {"username": "yunwei", "role": "ops", "division": "450000000000", "name": "运维"},
]

DEMO_TASK = {
    "form_code": "A301",
    "period": "2026-early-rice",
    "title": "2026年早稻播种面积及产量",
    "scope_division": "450103000000",
    "deadline": "2026-12-31T00:00:00+08:00",
}


def users_table() -> str:
    rows = [("username", "role", "division", "name")]
    rows += [(u["username"], u["role"], u["division"], u["name"]) for u in DEMO_USERS]
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = ["  ".join(r[i].ljust(widths[i]) for i in range(3)) + "  " + r[3] for r in rows]
    return "\n".join(lines) + f"\n(password for all: {DEMO_PASSWORD})"


def load_demo(gateway_url: str, timeout: float = 15.0) -> bool:
    """Publish the demo task as the region user. Re-runs are fine (idempotency key / 409).

    Returns False (with a warning) instead of raising when the API is not there yet."""
    base = gateway_url.rstrip("/") + "/api/v1"
    try:
        with httpx.Client(timeout=timeout) as client:
            login = client.post(f"{base}/auth/login",
                                json={"username": "qu_tongji", "password": DEMO_PASSWORD})
            if login.status_code != 200:
                log.warning("demo data skipped: login answered %s %s",
                            login.status_code, login.text[:200])
                return False
            token = login.json()["access_token"]
            task = client.post(f"{base}/agri/tasks", json=DEMO_TASK, headers={
                "Authorization": f"Bearer {token}", "Idempotency-Key": "demo-task-1"})
            if task.status_code not in (200, 201, 409):
                log.warning("demo task not published: %s %s", task.status_code, task.text[:200])
                return False
    except (httpx.HTTPError, KeyError, ValueError) as exc:
        log.warning("demo data skipped: %s", exc)
        return False
    log.info("demo data loaded: task %s", DEMO_TASK["title"])
    return True
