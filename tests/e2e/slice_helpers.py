"""Steps of the report's journey, over HTTP through the gateway, as the people would do them."""
from __future__ import annotations

import uuid

import httpx

from ..harness import wait_for

VALUES = {"crop_area": 1000, "grain_area": 600, "early_rice_area": 300,
          "early_rice_output": 117000}


async def publish_task(client: httpx.AsyncClient, auth: dict, scope: str, form: str = "A301",
                       period: str = "2026-EARLY") -> str:
    r = await client.post("/api/v1/agri/tasks", headers={**auth, "Idempotency-Key": uuid.uuid4().hex},
                          json={"form_code": form, "period": period, "title": "2026年早稻生产情况",
                                "scope_division": scope, "deadline": "2026-12-31T00:00:00+08:00"})
    assert r.status_code == 201, r.text
    return r.json()["task_id"]


async def my_report(client, auth: dict, task_id: str) -> dict:
    r = await client.get("/api/v1/agri/tasks", headers=auth)
    assert r.status_code == 200, r.text
    item = next(i for i in r.json()["items"] if i["task_id"] == task_id)
    return (await client.get(f"/api/v1/agri/reports/{item['report_id']}", headers=auth)).json()


async def save_and_submit(client, auth: dict, report: dict, values: dict) -> dict:
    rid = report["report_id"]
    r = await client.put(f"/api/v1/agri/reports/{rid}/draft", headers=auth,
                         json={"values": values, "explanations": {},
                               "expected_version": report["version"]})
    assert r.status_code == 200, r.text
    version = r.json()["version"]
    key = uuid.uuid4().hex
    r = await client.post(f"/api/v1/agri/reports/{rid}/submit",
                          headers={**auth, "Idempotency-Key": key},
                          json={"expected_version": version})
    assert r.status_code == 200, r.text
    again = await client.post(f"/api/v1/agri/reports/{rid}/submit",
                              headers={**auth, "Idempotency-Key": key},
                              json={"expected_version": version})  # a phone's retry
    assert again.status_code == 200 and again.json() == r.json()
    return r.json()


async def case_in_queue(client, auth: dict, report_id: str, timeout: float = 20.0) -> dict:
    async def find():
        r = await client.get("/api/v1/workflow/queue", headers=auth)
        assert r.status_code == 200, r.text
        return next((c for c in r.json()["items"] if c["subject_id"] == report_id), None)
    return await wait_for(find, timeout)


async def act(client, auth: dict, case: dict, action: str, **body) -> dict:
    r = await client.post(f"/api/v1/workflow/cases/{case['case_id']}/{action}",
                          headers={**auth, "Idempotency-Key": uuid.uuid4().hex},
                          json={"expected_version": case["version"], **body})
    assert r.status_code == 200, r.text
    return r.json()


async def report_status(client, auth: dict, report_id: str, status: str,
                        timeout: float = 20.0) -> dict:
    async def check():
        r = await client.get(f"/api/v1/agri/reports/{report_id}", headers=auth)
        return r.json() if r.json().get("status") == status else None
    return await wait_for(check, timeout)
