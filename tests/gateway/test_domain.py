"""Pure rules: token bucket, capability table, demo seeding idempotency."""
from __future__ import annotations

import uuid

import httpx

from gx_contracts.roles import DEMO_PASSWORD, DEMO_USERS

from gx_gateway.application.accounts import seed_users
from gx_gateway.domain.capabilities import may_call
from gx_gateway.domain.ratelimit import RateLimiter
from gx_gateway.main import create_app


def test_token_bucket_refills_and_reports_wait():
    now = [0.0]
    rl = RateLimiter(rate_per_sec=2.0, burst=2, clock=lambda: now[0])
    assert [rl.take("u"), rl.take("u")] == [0, 0]
    assert rl.take("u") == 1  # half a second to the next token -> Retry-After 1
    assert rl.take("v") == 0
    now[0] += 0.5
    assert rl.take("u") == 0


def test_token_bucket_memory_is_bounded():
    now = [0.0]
    rl = RateLimiter(1.0, 1, clock=lambda: now[0], max_keys=10)
    for i in range(100):
        rl.take(str(i))
    assert len(rl._buckets) <= 10


def test_capabilities():
    assert not may_call("subscriber", "GET", "/api/v1/agri/tasks")  # events only, via Kafka
    assert may_call("ops", "GET", "/api/v1/agri/tasks")
    assert not may_call("subscriber", "POST", "/api/v1/agri/reports/1/submit")
    assert may_call("region_statistician", "POST", "/api/v1/agri/tasks")
    assert not may_call("township_statistician", "POST", "/api/v1/agri/tasks")
    assert not may_call("township_statistician", "POST", "/api/v1/agri/tasks/1/close")
    assert may_call("township_statistician", "POST", "/api/v1/agri/tasks-other")
    assert not may_call("village_coordinator", "POST", "/api/v1/workflow/cases/1/approve")
    assert not may_call("region_statistician", "POST", "/api/v1/unknown/x")


async def test_demo_seed_is_idempotent(runtime, settings):
    assert await seed_users(runtime.pool, settings.schema, DEMO_USERS, DEMO_PASSWORD, 1024) == 0
    n = await runtime.pool.fetchval(f"SELECT count(*) FROM {settings.schema}.users "
                                    f"WHERE username = ANY($1::text[])",
                                    [u["username"] for u in DEMO_USERS])
    assert n == len(DEMO_USERS)


async def test_gx_demo_seeds_demo_users_at_setup(settings):
    tag = uuid.uuid4().hex[:8]
    demo = settings.model_copy(update={"db_schema": f"t{tag}_gwdemo", "demo": True})
    for _ in range(2):  # a restart seeds nothing new and breaks nothing
        app = create_app(demo)
        async with app.router.lifespan_context(app):
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                         base_url="http://gw") as c:
                r = await c.post("/api/v1/auth/login",
                                 json={"username": "qu_tongji", "password": DEMO_PASSWORD})
                assert r.status_code == 200, r.text
