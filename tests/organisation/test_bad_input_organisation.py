"""Every organisation route through the gateway answers malformed input with a 4xx naming the
problem — never a 5xx — for the roles that may call it (e2e)."""
from __future__ import annotations

import re
import uuid

import httpx
import pytest

pytestmark = pytest.mark.e2e
BODIES = [{}, [], "x", 1, {"unknown": 1}, {"year": "二〇一九", "division_code": "4501"},
          {"year": 10**12, "division_code": "450103000000", "scores": {"a": 1e308}},
          {"expected_version": -1}, {"person_name": "\u0000", "role": "grid_worker"}]
QUERIES = [{}, {"year": "x"}, {"division": "abc"}, {"period": "2019-00"}, {"year": "1900"}]


def concrete(path: str) -> str:
    subs = {"appointment_id": str(uuid.uuid4()), "county_code": "450103000000",
            "due_date": "2019-07-15", "year": "2019", "period": "2019-08"}
    return re.sub(r"\{(\w+)\}", lambda m: subs.get(m.group(1), "x"), path)


async def test_no_5xx_on_malformed_input(stack):
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=30) as client:
        doc = (await client.get("/api/v1/openapi.json")).json()
        ops = [(m, p) for p, item in doc["paths"].items() if p.startswith("/api/v1/organisation")
               for m in item if m in ("get", "post", "put")]
        assert len(ops) >= 20
        bad = []
        for who in ("qingxiu_qu", "qu_tongji"):
            h = await stack.login(client, who)
            for method, path in ops:
                url = concrete(path)
                if method == "get":
                    for q in QUERIES:
                        r = await client.get(url, params=q, headers=h)
                        if r.status_code >= 500:
                            bad.append(f"GET {url} {q} as {who}: {r.status_code} {r.text[:200]}")
                    continue
                for body in BODIES:
                    r = await client.request(method.upper(), url, json=body, headers={
                        **h, "Idempotency-Key": uuid.uuid4().hex})
                    if r.status_code >= 500 or (r.status_code >= 400 and not r.json().get("code")):
                        bad.append(f"{method} {url} {body!r} as {who}: {r.status_code} "
                                   f"{r.text[:200]}")
        assert not bad, "\n".join(bad)
