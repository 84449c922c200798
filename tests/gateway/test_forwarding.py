"""Forwarding to the services: signed principal, trace context, role table, jurisdiction.

TODO (issue 5 tests): the full authorisation matrix — role x endpoint x inside/outside
jurisdiction, generated from one table — belongs in tests/e2e against the real services once
their routes exist; the parametrised capability test below is its gateway-only seed.
"""
from __future__ import annotations

import asyncio

import pytest
from opentelemetry import trace

from gx_kernel import telemetry

from .conftest import auth, login


@pytest.fixture
async def tok(client):
    cache: dict[str, str] = {}

    async def get(name: str) -> str:
        if name not in cache:
            cache[name] = (await login(client, name))["access_token"]
        return cache[name]
    return get


async def test_forward_same_path_query_body_with_signed_principal(client, seen, tok):
    r = await client.post("/api/v1/agri/reports/r1/draft?lang=zh&x=%E6%9D%91",
                          content=b'{"values": {"a": 1}}',
                          headers=auth(await tok("tiantang_cun"),
                                       **{"Content-Type": "application/json"}))
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["service"] == "agri" and got["path"] == "/api/v1/agri/reports/r1/draft"
    assert got["query"] == "lang=zh&x=%E6%9D%91" and got["body"] == '{"values": {"a": 1}}'
    # The fake service verified the principal with the internal secret.
    assert got["principal"]["username"] == "tiantang_cun"
    assert got["principal"]["role"] == "village_coordinator"
    assert got["principal"]["scope"] == "450103103201"
    assert got["authorization"] is None  # the bearer token stays at the gateway
    assert got["traceparent"] and got["traceparent"].startswith("00-")
    assert r.headers["content-type"].startswith("application/json")


async def test_trace_continues_from_the_caller_into_the_service(client, seen, tok):
    token = await tok("changtang_zhen")
    with telemetry.span("phone") as span:
        trace_id = format(span.get_span_context().trace_id, "032x")
        headers = telemetry.inject_headers(auth(token))
    assert trace.get_current_span().get_span_context().trace_id != int(trace_id, 16)
    r = await client.get("/api/v1/workflow/cases?level=township", headers=headers)
    assert r.status_code == 200
    assert r.json()["traceparent"].split("-")[1] == trace_id


async def test_idempotency_key_and_method_are_forwarded(client, tok):
    r = await client.put("/api/v1/registry/units/u1", json={"name": "甲"},
                         headers=auth(await tok("tiantang_cun"), **{"Idempotency-Key": "k-fwd-1"}))
    assert r.status_code == 200 and r.json()["method"] == "PUT"
    assert r.json()["idempotency_key"] == "k-fwd-1"


async def test_client_cannot_smuggle_a_principal_header(client, tok):
    r = await client.get("/api/v1/agri/tasks", headers=auth(
        await tok("tiantang_cun"), **{"X-Gx-Principal": "forged.value"}))
    assert r.status_code == 200 and r.json()["principal"]["username"] == "tiantang_cun"


async def test_unknown_service_404_and_missing_token_401(client, tok):
    r = await client.get("/api/v1/payroll/x", headers=auth(await tok("qu_tongji")))
    assert r.status_code == 404 and r.headers["content-type"].startswith("application/problem")
    r = await client.get("/api/v1/agri/tasks")
    assert r.status_code == 401 and r.json()["code"] == "token_missing"


async def test_service_down_is_503_in_chinese(client, tok):
    r = await client.get("/api/v1/population/ledgers", headers=auth(await tok("qu_tongji")))
    assert r.status_code == 503 and r.json()["code"] == "service_unavailable"
    assert "人口变动调查服务" in r.json()["detail"]


@pytest.mark.parametrize("user,method,path,status", [
    ("sheng_xitong", "GET", "/api/v1/agri/tasks", 403),
    ("yunwei", "GET", "/api/v1/agri/tasks", 200),
    ("sheng_xitong", "POST", "/api/v1/agri/reports/r1/submit", 403),
    ("sheng_xitong", "DELETE", "/api/v1/registry/units/u1", 403),
    ("yunwei", "POST", "/api/v1/workflow/cases/c1/approve", 403),
    ("qu_tongji", "POST", "/api/v1/agri/tasks", 200),
    ("qingxiu_qu", "POST", "/api/v1/agri/tasks", 403),
    ("tiantang_cun", "POST", "/api/v1/agri/tasks", 403),
    ("tiantang_cun", "POST", "/api/v1/agri/reports/r1/submit", 200),
    ("tiantang_cun", "POST", "/api/v1/workflow/cases/c1/approve", 403),
    ("changtang_zhen", "POST", "/api/v1/workflow/cases/c1/approve", 200),
    ("tiantang_wangge", "POST", "/api/v1/agri/reports/r1/submit", 403),
    ("tiantang_wangge", "POST", "/api/v1/registry/units/u1/survey", 200),
])
async def test_role_capability_table(client, tok, user, method, path, status):
    r = await client.request(method, path, json={}, headers=auth(await tok(user)))
    assert r.status_code == status, r.text
    if status == 403:
        assert r.json()["code"] == "role_forbidden"


async def test_division_outside_jurisdiction_is_403(client, tok):
    token = await tok("changtang_zhen")  # township 450103103
    r = await client.get("/api/v1/workflow/cases?division_code=450103100201", headers=auth(token))
    assert r.status_code == 403 and r.json()["errors"][0]["field"] == "division_code"
    r = await client.get("/api/v1/workflow/cases?division_code=450103103201", headers=auth(token))
    assert r.status_code == 200
    r = await client.post("/api/v1/agri/tasks", json={"scope_division": "450103000000"},
                          headers=auth(await tok("qu_tongji")))
    assert r.status_code == 200
    r = await client.post("/api/v1/workflow/cases/c1/approve",
                          json={"division_code": "450102001001"}, headers=auth(token))
    assert r.status_code == 403 and r.json()["code"] == "outside_jurisdiction"


async def test_merged_openapi_marks_a_down_service_missing(client):
    r = await client.get("/api/v1/openapi.json")
    assert r.status_code == 200
    assert r.json()["info"]["x-gx-missing"] == ["population"]  # the fake's down host


async def test_a_dropped_upstream_connection_is_503_not_500():
    """A keep-alive connection the service closed mid-request was once a 500."""
    from gx_kernel.errors import AppError
    from gx_kernel.identity import Principal

    from gx_gateway.application.forwarding import forward, make_upstream
    from gx_gateway.settings import GatewaySettings

    async def hang_up(reader, writer):  # reads the request, closes without an answer
        await reader.read(1024)
        writer.close()

    server = await asyncio.start_server(hang_up, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    settings = GatewaySettings(GX_AGRI_URL=f"http://127.0.0.1:{port}")
    async with server, make_upstream(settings) as session:
        with pytest.raises(AppError) as err:
            await forward(session, settings, "agri", "GET", "/api/v1/agri/tasks", {}, b"",
                          Principal("u", "n", "ops", "450000000000"))
    assert err.value.status == 503 and err.value.code == "service_unavailable"
