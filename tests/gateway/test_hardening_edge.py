"""The HTTP edge refuses what could break a parser, the database or the capability check
(issue 8, defects 3 and 5): NUL and unpaired surrogates in any text field, query parameter or
path; JSON too deep or too many elements; bodies too large; dot-segments and encoded slashes.
Each case: the status, the Chinese message naming the field, and nothing written/forwarded."""
from __future__ import annotations

import json

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel

from gx_kernel import http
from gx_kernel.errors import AppError
from gx_kernel.input_guard import Limits, bad_text, check_json_shape

from .conftest import auth, login
from .test_devices import Phone

NUL = "不能包含空字符（NUL）"


def _field_errors(r) -> dict[str, str]:
    assert r.headers["content-type"].startswith("application/problem+json"), r.text
    return {e["field"]: e["message"] for e in r.json()["errors"]}


async def _count(runtime, settings, table: str) -> int:
    return await runtime.pool.fetchval(f"SELECT count(*) FROM {settings.schema}.{table}")


@pytest.fixture
async def village(client) -> dict[str, str]:
    return auth((await login(client, "tiantang_cun"))["access_token"])


@pytest.fixture
async def county(client) -> dict[str, str]:
    return auth((await login(client, "qingxiu_qu"))["access_token"])


# ---- NUL and bad text, everywhere, from one place ------------------------------------------

async def test_nul_in_login_username_is_422_and_counts_nothing(client, runtime, settings):
    throttled = await _count(runtime, settings, "login_throttle")
    r = await client.post("/api/v1/auth/login", json={"username": "qu_\u0000tongji",
                                                      "password": "x"})
    assert r.status_code == 422 and _field_errors(r) == {"username": NUL}
    assert "username" in r.json()["detail"] and "空字符" in r.json()["detail"]
    assert await _count(runtime, settings, "login_throttle") == throttled


async def test_nul_in_account_name_is_422_and_no_account(client, county, runtime, settings):
    before = await _count(runtime, settings, "users")
    r = await client.post("/api/v1/admin/users", headers=county, json={
        "username": "nul_test", "name_zh": "测试\u0000村", "role": "grid_worker",
        "division": "450103103202", "password": "Secret#123"})
    assert r.status_code == 422 and _field_errors(r) == {"name_zh": NUL}
    assert await _count(runtime, settings, "users") == before


async def test_nul_in_device_name_is_422_and_no_request(client, village, runtime, settings):
    before = await _count(runtime, settings, "device_requests")
    r = await client.post("/api/v1/devices/requests", headers=village, json={
        "label": "华为\u0000", "public_key": Phone().public_key})
    assert r.status_code == 422 and _field_errors(r) == {"label": NUL}
    assert await _count(runtime, settings, "device_requests") == before


async def test_nul_in_nested_field_of_a_proxied_command_is_not_forwarded(client, village, seen):
    calls = len(seen)
    r = await client.put("/api/v1/agri/reports/r1/draft", headers=village, json={
        "values": {"early_rice_area": 1.5},
        "explanations": {"early_rice_output": "核实无误\u0000", "crop_area": "好"},
        "items": [{"comment": "ok"}, {"comment": "\u0000"}]})
    assert r.status_code == 422
    assert _field_errors(r) == {"explanations.early_rice_output": NUL, "items.1.comment": NUL}
    assert "explanations.early_rice_output" in r.json()["detail"]
    # A NUL in a key names the key itself; an unpaired surrogate is refused the same way.
    r = await client.post("/api/v1/workflow/cases/c1/return", headers=village,
                          content=b'{"reason": "\\ud800", "field_notes": {"a\\u0000": "x"}}',
                          )
    assert r.status_code == 422
    assert _field_errors(r) == {"reason": "包含无效的 Unicode 字符（不成对的代理项）",
                                "field_notes.a\\u0000": NUL}
    assert len(seen) == calls


async def test_nul_in_query_and_path_is_not_forwarded(client, village, seen):
    calls = len(seen)
    r = await client.get("/api/v1/workflow/queue?status=open%00&limit=5", headers=village)
    assert r.status_code == 422 and _field_errors(r) == {"status": NUL}
    r = await client.get("/api/v1/agri/reports/r1%00", headers=village)
    assert r.status_code == 422 and _field_errors(r) == {"path": NUL}
    assert len(seen) == calls
    # An ordinary escaped query still goes through, byte for byte.
    r = await client.get("/api/v1/agri/tasks?q=%E5%86%9C", headers=village)
    assert r.status_code == 200 and r.json()["query"] == "q=%E5%86%9C"


# ---- depth, element count and size before parsing ------------------------------------------

DEEP = b"[" * 10_000 + b"]" * 10_000


async def test_deep_json_is_422_in_chinese_on_proxied_and_own_routes(client, village, seen):
    calls = len(seen)
    for url in ("/api/v1/agri/reports/r1/submit", "/api/v1/auth/login",
                "/api/v1/admin/users"):
        for body in (DEEP, b'{"division": ' + DEEP + b"}"):
            r = await client.post(url, content=body, headers={
                **village, "Content-Type": "application/json"})
            assert r.status_code == 422, (url, r.text)
            assert r.json()["code"] == "json_too_deep" and "嵌套过深" in r.json()["detail"]
            assert _field_errors(r) == {"body": r.json()["detail"]}
    # 32 levels are fine (forwarded); brackets inside strings do not count.
    ok = b'{"a": ' + b"[" * 31 + b"]" * 31 + b', "t": "' + b"[" * 100 + b'"}'
    r = await client.post("/api/v1/agri/reports/r1/submit", content=ok,
                          headers={**village, "Content-Type": "application/json"})
    assert r.status_code == 200, r.text
    assert len(seen) == calls + 1


async def test_body_size_is_bounded_declared_or_streamed(client, village, seen, settings):
    calls = len(seen)
    big = b'{"x": "' + b"a" * settings.max_body_bytes + b'"}'
    r = await client.post("/api/v1/agri/reports/r1/submit", content=big,
                          headers={**village, "Content-Type": "application/json"})
    assert r.status_code == 413 and r.json()["code"] == "body_too_large"
    assert "请求体过大" in r.json()["detail"] and "1 MB" in r.json()["detail"]

    async def chunks():  # no Content-Length: the bytes are counted as they arrive
        for _ in range(settings.max_body_bytes // 65536 + 2):
            yield b" " * 65536
    r = await client.post("/api/v1/agri/reports/r1/submit", content=chunks(),
                          headers={**village, "Content-Type": "application/json"})
    assert r.status_code == 413 and r.json()["code"] == "body_too_large"
    many = json.dumps({"values": {f"k{i}": 1 for i in range(settings.max_json_items)}})
    r = await client.post("/api/v1/agri/reports/r1/submit", content=many,
                          headers={**village, "Content-Type": "application/json"})
    assert r.status_code == 413 and r.json()["code"] == "json_too_many_items"
    assert "元素过多" in r.json()["detail"]
    assert len(seen) == calls


# ---- dot-segments and encoded slashes ------------------------------------------------------

async def _raw(app, method: str, raw_path: bytes, headers: dict[str, str], body: bytes = b"{}"):
    """Send a request target exactly as given (httpx would normalise dot-segments itself)."""
    sent: list[dict] = []
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": method, "scheme": "http", "server": ("gw", 80),
             "client": ("127.0.0.1", 5000), "root_path": "",
             "path": httpx.URL("http://gw").copy_with(raw_path=raw_path).path,
             "raw_path": raw_path, "query_string": b"",
             "headers": [(k.lower().encode(), v.encode()) for k, v in
                         {**headers, "content-type": "application/json",
                          "content-length": str(len(body))}.items()]}
    queue = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive():
        return queue.pop(0) if queue else {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)
    await app(scope, receive, send)
    status = sent[0]["status"]
    return status, json.loads(b"".join(m.get("body", b"") for m in sent[1:]) or b"null")


@pytest.mark.parametrize("path", [
    b"/api/v1/agri/reports/%2e%2e/tasks", b"/api/v1/agri/reports/%2E%2E/tasks",
    b"/api/v1/agri/reports/.%2e/tasks", b"/api/v1/agri/reports/../tasks",
    b"/api/v1/agri/reports/%252e%252e/tasks", b"/api/v1/agri/reports/%25252e%25252e/tasks",
    b"/api/v1/agri/reports/./r1/submit", b"/api/v1/agri/reports%2f..%2ftasks",
    b"/api/v1/agri/reports%2F%2E%2E%2Ftasks", b"/api/v1/agri/reports%5c..%5ctasks",
    b"/api/v1/agri/reports/%252f/tasks"])
async def test_dot_segments_and_encoded_slashes_are_not_forwarded(gateway, village, seen, path):
    calls = len(seen)
    status, body = await _raw(gateway[0], "POST", path, village)
    assert status == 400, body
    assert body["code"] == "path_invalid" and body["errors"][0]["field"] == "path"
    assert "请求路径" in body["detail"]
    assert len(seen) == calls


async def test_capability_is_checked_on_the_path_the_service_receives(client, village, seen):
    # Percent-encoded letters: decoded once, the same as the service will route on.
    r = await client.post("/api/v1/agri/task%73", headers=village, json={})
    assert r.status_code == 403 and r.json()["code"] == "role_forbidden"
    r = await client.post("/api/v1/agri/report%73/r1/submit", headers=village, json={})
    assert r.status_code == 200
    assert seen[-1]["path"] == "/api/v1/agri/reports/r1/submit"


# ---- the same guard in every service (http.install) ----------------------------------------

class _Comment(BaseModel):
    text: str


async def test_every_service_gets_the_same_guard_through_http_install():
    app = FastAPI()
    http.install(app, "svc")
    written: list[str] = []

    @app.post("/api/v1/svc/items/{item_id}")
    async def create(item_id: str, body: _Comment) -> dict:
        written.append(body.text)
        return {"ok": True}

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://svc") as c:
        r = await c.post("/api/v1/svc/items/1", json={"text": "a\u0000"})
        assert r.status_code == 422 and _field_errors(r) == {"text": NUL}
        r = await c.post("/api/v1/svc/items/1", content=DEEP,
                         headers={"Content-Type": "application/json"})
        assert r.status_code == 422 and r.json()["code"] == "json_too_deep"
        r = await c.post("/api/v1/svc/items/%2e%2e", json={"text": "x"})
        assert r.status_code == 400 and r.json()["code"] == "path_invalid"
        r = await c.post("/api/v1/svc/items/1", content=b"{not json",
                         headers={"Content-Type": "application/json"})
        assert r.status_code == 422 and "JSON" in r.json()["detail"]
        assert written == []
        r = await c.post("/api/v1/svc/items/1", json={"text": "好"})
        assert r.status_code == 200 and written == ["好"]


# ---- the guard's own reading of JSON (pure) --------------------------------------------------

def test_shape_check_reads_strings_as_text_and_counts_every_level():
    limits = Limits(max_body_bytes=1 << 20, max_json_depth=3, max_json_items=10)
    check_json_shape(b'{"a": "[[[[\\"[[[[", "b": [[1]]}', limits)  # brackets inside text
    with pytest.raises(AppError) as deep:
        check_json_shape(b'{"a": [[["\\\\"]]]}', limits)  # an escaped backslash ends no string
    assert deep.value.code == "json_too_deep" and deep.value.status == 422
    with pytest.raises(AppError) as many:
        check_json_shape(b"[" + b"0," * 10 + b"0]", limits)
    assert many.value.code == "json_too_many_items" and many.value.status == 413
    # Inputs that made a string-skipping regular expression rescan the rest from every quote
    # (quadratic): an unterminated escape-heavy string, and far more strings than elements.
    big = Limits()
    check_json_shape(b'"' + b',\\"' * 300_000 + b"\\", big)  # one string to the end
    with pytest.raises(AppError) as quotes:
        check_json_shape(b'"' * 1_000_000 + b"[" * 33, big)
    assert quotes.value.code == "json_too_many_items"
    check_json_shape(b"]" * 100_000 + b"[" * 40, big)  # not JSON: left to the parser
    assert list(bad_text({"a": [{"b": "x\x00"}], "c\x00": 1, "d": "\ud800"})) == [
        {"field": "a.0.b", "message": NUL}, {"field": "c\\u0000", "message": NUL},
        {"field": "d", "message": "包含无效的 Unicode 字符（不成对的代理项）"}]
