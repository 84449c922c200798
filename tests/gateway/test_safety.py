"""Safe retries (Idempotency-Key), rate limits, readiness."""
from __future__ import annotations

import asyncio
import uuid

from gx_gateway.settings import SERVICES

from .conftest import auth, login


async def test_idempotent_replay_returns_first_response(client, seen):
    token = (await login(client, "tiantang_cun"))["access_token"]
    h = auth(token, **{"Idempotency-Key": f"k-{uuid.uuid4()}"})
    first = await client.post("/api/v1/agri/reports/r9/submit", json={"v": 1}, headers=h)
    calls = len(seen)
    again = await client.post("/api/v1/agri/reports/r9/submit", json={"v": 1}, headers=h)
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert len(seen) == calls  # the service was not called again
    other = await client.post("/api/v1/agri/reports/r9/submit", json={"v": 2}, headers=h)
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"
    assert other.json()["errors"][0]["field"] == "Idempotency-Key"
    path = await client.post("/api/v1/agri/reports/r8/submit", json={"v": 1}, headers=h)
    assert path.status_code == 422


async def test_keys_belong_to_one_user(client):
    key = {"Idempotency-Key": f"k-{uuid.uuid4()}"}
    a = (await login(client, "tiantang_cun"))["access_token"]
    b = (await login(client, "dingxi_cun"))["access_token"]
    ra = await client.post("/api/v1/agri/reports/x/submit", json={}, headers=auth(a, **key))
    rb = await client.post("/api/v1/agri/reports/x/submit", json={}, headers=auth(b, **key))
    assert rb.json()["principal"]["username"] == "dingxi_cun" != ra.json()["principal"]["username"]
    assert "Idempotent-Replayed" not in rb.headers


async def test_concurrent_retries_run_once(client, seen):
    token = (await login(client, "tiantang_cun"))["access_token"]
    h = auth(token, **{"Idempotency-Key": f"k-{uuid.uuid4()}"})
    before = len([s for s in seen if s["path"].endswith("/slow/once")])
    rs = await asyncio.gather(*(client.post("/api/v1/agri/slow/once", json={"a": 1}, headers=h)
                                for _ in range(4)))
    assert [r.status_code for r in rs] == [200] * 4
    assert len({r.json()["n"] for r in rs}) == 1
    assert sum(r.headers.get("Idempotent-Replayed") == "true" for r in rs) == 3
    assert len([s for s in seen if s["path"].endswith("/slow/once")]) == before + 1


async def test_in_progress_beyond_wait_is_409(client, runtime, settings):
    token = (await login(client, "tiantang_cun"))["access_token"]
    h = auth(token, **{"Idempotency-Key": f"k-{uuid.uuid4()}"})
    runtime.settings.idempotency_wait_seconds = 0.1
    try:
        rs = await asyncio.gather(
            client.post("/api/v1/agri/slow/busy", json={}, headers=h),
            _later(client.post("/api/v1/agri/slow/busy", json={}, headers=h)))
    finally:
        runtime.settings.idempotency_wait_seconds = 2.0
    assert rs[0].status_code == 200
    assert rs[1].status_code == 409 and rs[1].json()["code"] == "idempotency_in_progress"


async def _later(coro):
    await asyncio.sleep(0.1)
    return await coro


async def test_failed_attempt_is_not_stored(client, seen):
    token = (await login(client, "qu_tongji"))["access_token"]
    h = auth(token, **{"Idempotency-Key": f"k-{uuid.uuid4()}"})
    r1 = await client.post("/api/v1/agri/fail/x", json={}, headers=h)
    r2 = await client.post("/api/v1/agri/fail/x", json={}, headers=h)
    assert r1.status_code == r2.status_code == 500
    assert "Idempotent-Replayed" not in r2.headers  # a 5xx is retried for real
    h2 = auth(token, **{"Idempotency-Key": f"k-{uuid.uuid4()}"})
    for _ in range(2):  # service down: the claim is released, the retry runs again
        down = await client.post("/api/v1/population/x", json={}, headers=h2)
        assert down.status_code == 503 and down.json()["code"] == "service_unavailable"


async def test_rate_limit_per_user_429_with_retry_after(client, limits):
    token = (await login(client, "changtang_zhen"))["access_token"]
    limits(user_burst=3, rate=0.5)
    codes = [(await client.get("/api/v1/agri/tasks", headers=auth(token))) for _ in range(4)]
    assert [r.status_code for r in codes[:3]] == [200, 200, 200]
    assert codes[3].status_code == 429 and int(codes[3].headers["Retry-After"]) >= 1
    assert codes[3].json()["code"] == "rate_limited" and "秒后重试" in codes[3].json()["detail"]
    # Another user has their own bucket.
    other = (await login(client, "liuxu_zhen"))["access_token"]
    assert (await client.get("/api/v1/agri/tasks", headers=auth(other))).status_code == 200


async def test_ready_is_the_gateways_own_and_names_a_backend_that_is_down(client, runtime,
                                                                           settings):
    r = await client.get("/ready")
    # population is down in this suite: the gateway still serves (a Kubernetes readiness
    # probe must not take every gateway pod out of its Service), and says which backend
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "degraded"
    assert body["checks"] == {"database": True, "broker": True}
    down = {"population"}  # its URL is a closed port in this suite
    assert body["details"]["dependencies"] == {name: name not in down for name in SERVICES}
    saved = {name: getattr(settings, f"{name}_url") for name in down}
    for name in down:
        setattr(settings, f"{name}_url", settings.agri_url)  # the fake answers for it too
    try:
        r = await client.get("/ready")
    finally:
        for name, url in saved.items():
            setattr(settings, f"{name}_url", url)
    assert r.status_code == 200 and r.json()["status"] == "ready"
    assert (await client.get("/health")).status_code == 200
