"""Every population route, as every demo role, with junk bodies and unknown ids, answers
without a 5xx and without echoing personal data (a light sweep beside tests/e2e/test_fuzz.py)."""
import re
import uuid

import httpx
import pytest
from pop_support import HEAD_ID, HEAD_NAME, key, setup_year

pytestmark = pytest.mark.integration
USERS = ["qu_tongji", "nanning_shi", "qingxiu_qu", "changtang_zhen", "tiantang_cun",
         "tiantang_wangge", "yunwei", "sheng_xitong"]
BODIES = [None, {}, {"expected_version": -1}, {"name": HEAD_NAME, "id_number": HEAD_ID},
          {"household": {"household_no": "x" * 5000}}, [1, 2, 3], "\u0000"]


async def test_population_routes_never_answer_5xx(pop):
    async with httpx.AsyncClient(base_url=pop.gateway_url, timeout=30) as c:
        region = await pop.login(c, "qu_tongji")
        areas = await setup_year(c, region)
        known = next(iter(areas.values()))
        doc = (await c.get("/api/v1/openapi.json")).json()
        ops = [(m, p) for p, item in doc["paths"].items() if p.startswith("/api/v1/population/")
               for m in item if m in ("get", "post", "put")]
        assert len(ops) >= 25, ops
        auth = {u: await pop.login(c, u) for u in USERS}
        failures, sent = [], 0
        for method, path in ops:
            for ident in (known, str(uuid.uuid4()), "not-a-uuid"):
                url = re.sub(r"\{year\}", "2026", path)
                url = re.sub(r"\{[a-z_]+\}", ident, url)
                for user in USERS:
                    for body in (BODIES if method != "get" else [None]):
                        kw = {} if body is None else {"json": body}
                        sent += 1
                        r = await c.request(method.upper(), url, headers={**auth[user], **key()},
                                            params={"month": "2026-01"} if "ledger" in url else None,
                                            **kw)
                        if r.status_code >= 500 or HEAD_ID in r.text or HEAD_NAME in r.text:
                            failures.append(f"{method} {url} {user} {body!r:.40} -> "
                                            f"{r.status_code} {r.text[:200]}")
        assert sent > 3000, sent
        assert not failures, "\n".join(failures[:20])
