"""The forwarding path in front of FastAPI (issue 14 §5): proxied routes are answered by a
prefix table without FastAPI's routing; everything else still goes through FastAPI; the hot
path waits for no database round trip in steady state (rate-limit leases renewed ahead,
revoked sessions reloaded ahead)."""
from __future__ import annotations

import asyncio
import time

import pytest

from gx_kernel import metrics

from gx_gateway.api import front, proxy
from gx_gateway.application import revocations
from gx_gateway.application.revocations import RevokedFamilies
from gx_gateway.application.shared_limits import SharedRateLimiter

from .conftest import auth, login


@pytest.fixture
async def village(client) -> dict[str, str]:
    return auth((await login(client, "tiantang_cun"))["access_token"])


def _count(method: str, route: str, status_class: str = "count") -> int:
    for row in metrics.request_snapshot("gateway"):
        if row["method"] == method and row["route"] == route:
            return row[status_class]
    return 0


def test_the_prefix_table_takes_exactly_the_proxied_routes(gateway):
    table = front.ForwardingFront(lambda *a: None, gateway[0])
    assert table.service_of("/api/v1/agri/tasks") == "agri"
    assert table.service_of("/api/v1/workflow/") == "workflow"
    for own in ("/api/v1/agri", "/api/v1/auth/login", "/api/v1/me", "/api/v1/admin/users",
                "/api/v1/payroll/x", "/api/v1/openapi.json", "/console/app.js", "/",
                "/ready", "/api/v2/agri/tasks", "/api/v1/agrix/tasks"):
        assert table.service_of(own) is None, own


async def test_proxied_routes_skip_fastapi_and_are_counted_by_template(client, village,
                                                                        monkeypatch):
    def no_fastapi(*_a, **_k):
        raise AssertionError("a proxied route reached FastAPI's route")
    monkeypatch.setattr(proxy, "to_response", no_fastapi)  # FastAPI's route answers with it
    ok, refused = _count("GET", "/api/v1/agri/{rest}"), _count("GET", "/api/v1/agri/{rest}",
                                                               "refused")
    r = await client.get("/api/v1/agri/reports/r1?x=1", headers=village)
    assert r.status_code == 200 and r.json()["path"] == "/api/v1/agri/reports/r1"
    assert r.headers["content-length"] == str(len(r.content))
    # a refusal of the input guard on a proxied route counts under the same template
    r = await client.get("/api/v1/agri/reports/r1%00", headers=village)
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    assert _count("GET", "/api/v1/agri/{rest}") == ok + 2
    assert _count("GET", "/api/v1/agri/{rest}", "refused") == refused + 1
    assert not [row for row in metrics.request_snapshot("gateway")
                if "r1" in row["route"]]  # the template, never the raw path


async def test_other_routes_still_go_through_fastapi(client, village):
    r = await client.get("/api/v1/me", headers=village)
    assert r.status_code == 200 and r.json()["username"] == "tiantang_cun"
    r = await client.get("/api/v1/payroll/x", headers=village)  # not in the prefix table
    assert r.status_code == 404 and r.json()["code"] == "not_found"
    assert (await client.get("/api/v1/payroll/x")).json()["code"] == "token_missing"
    r = await client.get("/api/v1/agri", headers=village)  # FastAPI's slash redirect
    assert r.status_code == 307 and r.headers["location"].endswith("/api/v1/agri/")


async def test_a_crash_on_the_forwarding_path_is_a_500_problem_in_chinese(client, village,
                                                                          monkeypatch):
    async def crash(*_a):
        raise RuntimeError("boom")
    monkeypatch.setattr(front, "proxy_call", crash)
    before = _count("GET", "/api/v1/workflow/{rest}", "errors")
    r = await client.get("/api/v1/workflow/queue", headers=village)
    assert r.status_code == 500 and r.json()["code"] == "internal_error"
    assert r.headers["content-type"] == "application/problem+json" and "boom" not in r.text
    assert _count("GET", "/api/v1/workflow/{rest}", "errors") == before + 1



async def test_the_database_gone_on_the_forwarding_path_is_a_503_to_retry(client, village,
                                                                           monkeypatch):
    """PostgreSQL restarting under the Idempotency-Key claim (found by tests/faults): 503 with
    Retry-After, as the services answer, not a 500."""
    async def gone(*_a):
        raise ConnectionRefusedError(111, "Connection refused")
    monkeypatch.setattr(front, "proxy_call", gone)
    r = await client.get("/api/v1/workflow/queue", headers=village)
    assert r.status_code == 503 and r.headers["retry-after"] == "1"
    assert r.json()["code"] == "database_unavailable"

class SlowBucket:
    """A shared bucket whose every lease takes `delay` seconds (counts the round trips)."""

    def __init__(self, delay: float, tokens: int = 10_000):
        self.delay, self.tokens, self.calls = delay, tokens, 0

    async def fetchrow(self, _sql, _key, _rate, _burst, most):
        self.calls += 1
        await asyncio.sleep(self.delay)
        granted = min(most, self.tokens)
        self.tokens -= granted
        return {"granted": granted, "tokens": float(self.tokens)}


async def test_leases_are_renewed_ahead_so_requests_do_not_wait_for_the_database():
    bucket = SlowBucket(delay=0.05)
    limiter = SharedRateLimiter(bucket, "s", "user", 1000.0, 1000, lease=10)
    assert await limiter.take("u") == 0 and bucket.calls == 1  # the first one waits
    slowest = 0.0
    for _ in range(60):  # 5 tokens last longer than a renewal takes
        await asyncio.sleep(0.015)
        t0 = time.perf_counter()
        assert await limiter.take("u") == 0
        slowest = max(slowest, time.perf_counter() - t0)
    assert slowest < 0.03, slowest  # never a round trip of 50 ms on the request
    assert 6 <= bucket.calls <= 9  # one lease per 10 requests, asked in the background


async def test_an_empty_bucket_refuses_after_the_renewed_tokens_are_spent():
    bucket = SlowBucket(delay=0.001, tokens=25)
    limiter = SharedRateLimiter(bucket, "s", "user", 0.5, 1000, lease=10)
    allowed = [await limiter.take("u") == 0 for _ in range(40)]
    assert allowed.count(True) == 25 and not any(allowed[25:])  # every token once, no more


async def test_revoked_sessions_are_reloaded_ahead_without_making_a_request_wait(monkeypatch):
    loads: list[float] = []

    async def slow_load(_pool, _schema, _ttl):
        loads.append(time.monotonic())
        await asyncio.sleep(0.2)
        return ["fam-revoked-elsewhere"]
    monkeypatch.setattr(revocations.users, "revoked_families", slow_load)
    now = [0.0]
    cache = RevokedFamilies(None, "s", 900, cache_seconds=2.0, clock=lambda: now[0])
    assert await cache.is_revoked("x") is False and len(loads) == 1  # first use: loaded
    now[0] = 1.2  # past half the period: reloaded in the background, not on this request
    t0 = time.perf_counter()
    assert await cache.is_revoked("fam-revoked-elsewhere") is True
    assert time.perf_counter() - t0 < 0.1
    await asyncio.sleep(0.3)
    assert len(loads) == 2
    now[0] = 1.5
    await cache.is_revoked("x")
    assert len(loads) == 2  # fresh again
    now[0] = 10.0  # idle past the period: the request waits for the reload, as before
    await cache.is_revoked("x")
    assert len(loads) == 3
