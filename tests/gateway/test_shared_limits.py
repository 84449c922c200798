"""Rate limits hold across gateway replicas (issue 14 §5): two gateways on one database give
a user one token bucket, not one per process; leases keep most requests off the database."""
from __future__ import annotations

import contextlib
import uuid

import httpx

from gx_gateway.application.shared_limits import SharedRateLimiter
from gx_gateway.main import create_app

from .conftest import auth, login


@contextlib.asynccontextmanager
async def replica(settings):
    """Another gateway process on the same database schema (its own in-memory state)."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://gw") as client:
            yield client


async def test_two_replicas_share_one_bucket_per_user(settings, gateway):
    small = settings.model_copy(update={"rate_user_burst": 6, "rate_user_per_sec": 0.05})
    async with replica(small) as a, replica(small) as b:
        token = (await login(a, "changtang_zhen"))["access_token"]
        codes = []
        for i in range(14):  # alternate between the replicas, as a load balancer would
            r = await (a if i % 2 else b).get("/api/v1/agri/tasks", headers=auth(token))
            codes.append(r.status_code)
        # per-process buckets would let 12 through (6 on each); shared: the burst, once
        assert codes.count(200) == 6 and set(codes[6:]) == {429}, codes
        refused = await a.get("/api/v1/agri/tasks", headers=auth(token))
        assert refused.json()["code"] == "rate_limited" and int(refused.headers["Retry-After"]) >= 1


async def test_leases_spend_the_shared_bucket_exactly_once(runtime):
    st = runtime.state
    kind = f"lease-{uuid.uuid4().hex[:8]}"
    one, two = (SharedRateLimiter(st.idempotency_pool, runtime.settings.schema, kind, 0.01, 100,
                                  lease=10) for _ in range(2))
    allowed = 0
    for i in range(160):
        allowed += (await (one if i % 3 else two).take("u")) == 0
    assert 100 <= allowed <= 101  # the bucket (plus at most a token refilled meanwhile)
    rows = await runtime.pool.fetchval(
        f"SELECT count(*) FROM {runtime.settings.schema}.rate_buckets WHERE key = $1",
        f"{kind}:u")
    assert rows == 1


async def test_without_the_database_a_replica_still_limits_alone(runtime):
    class Down:
        async def fetchrow(self, *a, **k):
            raise OSError("connection refused")

    limiter = SharedRateLimiter(Down(), runtime.settings.schema, "down", 0.01, 3)
    assert [await limiter.take("u") for _ in range(4)][:3] == [0, 0, 0]
    assert await limiter.take("u") >= 1
