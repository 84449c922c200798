"""Helpers of the organisation suite: the gateway as each person sees it."""
from __future__ import annotations

import uuid

import httpx

from tests.harness import wait_for

DOC = "桂统字〔2019〕52号"
REGION, NANNING, QINGXIU = "450000000000", "450100000000", "450103000000"
CHANGTANG, TIANTANG = "450103103000", "450103103201"
XINGNING = "450102000000"  # another county of 南宁 (兴宁区)
LUZHAI = "450223000000"  # 柳州市鹿寨县 (a pilot named in 52号)
BAISE = "451000000000"


class People:
    """One logged-in session per demo user; every change carries a fresh Idempotency-Key."""

    def __init__(self, stack, client: httpx.AsyncClient):
        self.stack, self.client, self.headers = stack, client, {}

    async def h(self, who: str, key: str | None = None) -> dict[str, str]:
        if who not in self.headers:
            self.headers[who] = await self.stack.login(self.client, who)
        return {**self.headers[who], "Idempotency-Key": key or uuid.uuid4().hex}

    async def post(self, who: str, path: str, body: dict, key: str | None = None):
        return await self.client.post(f"/api/v1/organisation{path}", json=body,
                                      headers=await self.h(who, key))

    async def put(self, who: str, path: str, body: dict, key: str | None = None):
        return await self.client.put(f"/api/v1/organisation{path}", json=body,
                                     headers=await self.h(who, key))

    async def get(self, who: str, path: str, **params):
        h = await self.h(who)
        return await self.client.get(f"/api/v1/organisation{path}", params=params, headers=h)

    async def case_for(self, who: str, report_id: str, version_above: int = 0) -> dict:
        async def find():
            r = await self.client.get(
                f"/api/v1/workflow/cases/by-subject/organisation.progress_report/{report_id}",
                headers=await self.h(who))
            return r.json() if r.status_code == 200 and r.json()["version"] > version_above \
                else None
        return await wait_for(find, 30)

    async def act(self, who: str, case: dict, action: str, **body) -> httpx.Response:
        return await self.client.post(f"/api/v1/workflow/cases/{case['case_id']}/{action}",
                                      json={"expected_version": case["version"], **body},
                                      headers=await self.h(who))
