"""/api/v1/{service}/...: authenticate, check, then forward to the service (转发).

`proxy_call` is the whole check-and-forward of one request, free of any web framework: the
forwarding path in front of FastAPI (gx_gateway.api.front) runs it for every proxied route.
The FastAPI route below only answers what the front does not take (an unknown service: 401
without a token, else 404; `/api/v1/agri` without its slash is redirected by FastAPI)."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote

from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse

from gx_kernel.errors import AppError, Forbidden
from gx_kernel.input_guard import Limits, load_json
from gx_kernel.service import ServiceRuntime

from gx_gateway.api.caller import identify, path_and_query, read_body
from gx_gateway.application.forwarding import Upstream, forward
from gx_gateway.application.idempotent import fingerprint, run_idempotent
from gx_gateway.application.state import state
from gx_gateway.domain.capabilities import MUTATING, may_call
from gx_gateway.domain.jurisdiction import first_outside, is_json
from gx_gateway.settings import SERVICES

router = APIRouter()
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]
MAX_KEY_LEN = 200


@dataclass(frozen=True)
class ProxyCall:
    """One request to forward, as the client sent it (the input guard has passed it)."""

    service: str
    method: str
    path: str  # decoded (what routing sees)
    path_qs: str  # the raw path exactly as sent (what a device signs), plus the query
    query_string: str
    headers: Mapping[str, str]  # lower-case names
    body: bytes


async def proxy_call(rt: ServiceRuntime, call: ProxyCall) -> tuple[Upstream, bool]:
    """The service's answer to `call` and whether it is a replay (Idempotency-Key); AppError
    for a refusal (401/403/422/429/409) or a service that gave no answer (503/504)."""
    s = rt.settings
    method = call.method

    async def body() -> bytes:
        return call.body
    caller = await identify(rt, method, call.path, call.path_qs, call.headers, body)
    if call.service not in SERVICES:
        raise AppError(404, "not_found", "请求的资源不存在")
    role = caller.claims.role
    # Forwarded byte for byte; the input guard already refused dot-segments and encoded
    # slashes, so decoding it once gives exactly the path the service routes on.
    if not may_call(role, method, unquote(call.path_qs.split("?", 1)[0])):
        raise Forbidden("当前角色无权执行此操作" if method in MUTATING else "当前角色无权访问",
                        code="role_forbidden")
    # the query as the services read it (the last of a repeated name)
    query = dict(parse_qsl(call.query_string, keep_blank_values=True)) if call.query_string else {}
    outside = first_outside(caller.claims.division, query,
                            _json_or_none(call.body, call.headers.get("content-type"), s))
    if outside:
        raise AppError(403, "outside_jurisdiction", f"{outside}：区划代码不在本人管辖范围内",
                       field=outside)

    async def send() -> Upstream:
        return await forward(state(rt).upstream, s, call.service, method, call.path_qs,
                             call.headers, call.body, caller.principal)

    key = call.headers.get("idempotency-key")
    if key and method in MUTATING:
        if len(key) > MAX_KEY_LEN:
            raise AppError(422, "idempotency_key_invalid",
                           f"幂等键（Idempotency-Key）过长（最多 {MAX_KEY_LEN} 个字符）",
                           field="Idempotency-Key")
        return await run_idempotent(
            state(rt).idempotency_pool, s.schema, caller.claims.user_id, key,
            fingerprint(method, call.path_qs, call.body), send, s.idempotency_wait_seconds,
            s.idempotency_stale_seconds)
    return await send(), False


@router.api_route("/api/v1/{service}/{rest:path}", methods=METHODS, include_in_schema=False)
async def proxy(service: str, rest: str, request: Request) -> Response:
    rt = request.app.state.runtime
    up, replayed = await proxy_call(rt, ProxyCall(
        service, request.method, request.url.path, path_and_query(request),
        request.scope.get("query_string", b"").decode("latin-1"), request.headers,
        await read_body(request, rt.settings.max_body_bytes)))
    return to_response(up, replayed)


def _json_or_none(body: bytes, content_type: str | None, s: Any) -> Any:
    if not body or not is_json(content_type):
        return None
    try:
        return load_json(body, Limits.from_settings(s))  # bounded: never a RecursionError
    except ValueError:
        return None  # the service answers 422 for malformed JSON


def to_response(up: Upstream, replayed: bool) -> Response:
    headers = dict(up.headers)
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    if up.stream is not None:
        return StreamingResponse(up.chunks(), status_code=up.status, headers=headers,
                                 media_type=up.content_type)
    return Response(up.body, status_code=up.status, headers=headers, media_type=up.content_type)
