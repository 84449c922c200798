"""Gateway test fixtures: the gateway in-process on real PostgreSQL and the broker, with the
services replaced by one small fake FastAPI app served on a real port (a closed port plays
the service that is down)."""
from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request, Response

from gx_contracts.roles import DEMO_PASSWORD, DEMO_USERS
from gx_kernel.identity import PRINCIPAL_HEADER, verify_principal

from gx_gateway.application.accounts import seed_users
from gx_gateway.application.shared_limits import SharedRateLimiter
from gx_gateway.application.state import state
from gx_gateway.main import create_app
from gx_gateway.settings import GatewaySettings

from ..harness import free_port, serving

INTERNAL_SECRET = "test-internal-secret"
JWT_SECRET = "test-jwt-secret-0123456789abcdef0123456789"


def fake_services(secret: str) -> tuple[FastAPI, list[dict[str, Any]]]:
    """One app answering for every service: echoes what the gateway forwarded."""
    app = FastAPI()
    seen: list[dict[str, Any]] = []

    @app.get("/ready")
    async def ready() -> dict:
        return {"status": "ready"}

    @app.api_route("/api/v1/{service}/slow/{rest:path}", methods=["POST"])
    async def slow(service: str, rest: str, request: Request) -> dict:
        await asyncio.sleep(0.4)
        return await echo(service, rest, request)

    @app.api_route("/api/v1/{service}/fail/{rest:path}", methods=["POST"])
    async def fail(service: str, rest: str) -> Response:
        return Response('{"code":"boom"}', status_code=500, media_type="application/json")

    @app.api_route("/api/v1/{service}/{rest:path}", methods=["GET", "POST", "PUT", "DELETE"])
    async def echo(service: str, rest: str, request: Request) -> dict:
        p = verify_principal(request.headers.get(PRINCIPAL_HEADER), secret)
        record = {"service": service, "path": request.url.path, "query": request.url.query,
                  "method": request.method, "body": (await request.body()).decode(),
                  "principal": p.__dict__, "traceparent": request.headers.get("traceparent"),
                  "idempotency_key": request.headers.get("idempotency-key"),
                  "authorization": request.headers.get("authorization"),
                  "n": len(seen) + 1}
        seen.append(record)
        return record

    return app, seen


FAKE_PORT = free_port()
DOWN_URL = f"http://127.0.0.1:{free_port()}"  # nothing listens there


@pytest.fixture(scope="module")
def settings(infra) -> GatewaySettings:
    tag = uuid.uuid4().hex[:8]
    return GatewaySettings(
        GX_DB_SCHEMA=f"t{tag}_gateway", GX_TOPIC_PREFIX=f"t{tag}.",
        DATABASE_URL=infra.database_url, KAFKA_BOOTSTRAP_SERVERS=infra.kafka_bootstrap,
        GX_INTERNAL_SECRET=INTERNAL_SECRET, GX_JWT_SECRET=JWT_SECRET, GX_RELAY_ENABLED=False,
        GX_ARGON2_MEMORY_KIB=1024, GX_RATE_USER_BURST=10_000, GX_RATE_USER_PER_SEC=1000,
        GX_REGISTRY_URL=f"http://127.0.0.1:{FAKE_PORT}", GX_AGRI_URL=f"http://127.0.0.1:{FAKE_PORT}",
        GX_WORKFLOW_URL=f"http://127.0.0.1:{FAKE_PORT}", GX_POPULATION_URL=DOWN_URL,
        GX_ORGANISATION_URL=f"http://127.0.0.1:{FAKE_PORT}",
        GX_IDEMPOTENCY_WAIT=2.0)


@pytest.fixture(scope="module")
async def gateway(settings):
    """(app, client, seen) with the demo users seeded."""
    fake, seen = fake_services(INTERNAL_SECRET)
    app = create_app(settings)
    async with serving(fake, FAKE_PORT), app.router.lifespan_context(app):
        rt = app.state.runtime
        await seed_users(rt.pool, settings.schema, DEMO_USERS, DEMO_PASSWORD, 1024)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://gw") as client:
            yield app, client, seen


@pytest.fixture
def client(gateway) -> httpx.AsyncClient:
    return gateway[1]


@pytest.fixture
async def client_at(gateway):
    """A client calling from a given address (the throttle counts per client address)."""
    opened: list[httpx.AsyncClient] = []

    def make(address: str) -> httpx.AsyncClient:
        c = httpx.AsyncClient(transport=httpx.ASGITransport(app=gateway[0], client=(address, 40000)),
                              base_url="http://gw")
        opened.append(c)
        return c
    yield make
    for c in opened:
        await c.aclose()


@pytest.fixture
def seen(gateway) -> list[dict[str, Any]]:
    return gateway[2]


@pytest.fixture
def runtime(gateway):
    return gateway[0].state.runtime



async def login(client: httpx.AsyncClient, username: str, password: str = DEMO_PASSWORD
                ) -> dict:
    r = await client.post("/api/v1/auth/login", json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return r.json()


def auth(token: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **extra}


@pytest.fixture
def limits(runtime):
    """Swap in small token buckets for one test; restore afterwards."""
    saved = state(runtime).limits

    def install(user_burst: int, device_burst: int = 5, rate: float = 0.5) -> None:
        st, tag = state(runtime), uuid.uuid4().hex[:8]  # fresh buckets in the shared table
        st.limits = (
            SharedRateLimiter(st.idempotency_pool, runtime.settings.schema, f"user-{tag}",
                              rate, user_burst),
            SharedRateLimiter(st.idempotency_pool, runtime.settings.schema, f"device-{tag}",
                              rate, device_burst))
    yield install
    state(runtime).limits = saved
