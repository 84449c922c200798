"""A request that finds PostgreSQL gone (restart, dropped connection) answers 503 with
Retry-After, not 500: the caller may retry with its Idempotency-Key (found by tests/faults)."""
from __future__ import annotations

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from gx_kernel import http

pytestmark = pytest.mark.unit


def _app(exc: BaseException) -> FastAPI:
    app = FastAPI()
    http.install(app, "t")

    @app.get("/x")
    async def x() -> None:
        raise exc

    return app


@pytest.mark.parametrize("exc", [
    asyncpg.CannotConnectNowError("the database system is shutting down"),
    asyncpg.AdminShutdownError("terminating connection due to administrator command"),
    asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
    ConnectionRefusedError(111, "Connection refused"),
])
async def test_database_gone_answers_503_with_retry_after(exc):
    transport = httpx.ASGITransport(app=_app(exc), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        r = await client.get("/x")
    assert r.status_code == 503
    assert r.headers["retry-after"] == "1"
    assert r.json()["code"] == "database_unavailable"


async def test_a_bug_still_answers_500():
    transport = httpx.ASGITransport(app=_app(KeyError("k")), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        r = await client.get("/x")
    assert r.status_code == 500
    assert r.json()["code"] == "internal_error"
