"""/api/v1/{service}/...: authenticate, check, then forward to the service (转发)."""
from __future__ import annotations

from urllib.parse import unquote

from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse

from gx_kernel.errors import AppError, Forbidden
from gx_kernel.input_guard import Limits, load_json

from gx_gateway.api.caller import authenticate, path_and_query, read_body
from gx_gateway.application.forwarding import Upstream, forward
from gx_gateway.application.idempotent import fingerprint, run_idempotent
from gx_gateway.application.state import state
from gx_gateway.domain.capabilities import MUTATING, may_call
from gx_gateway.domain.jurisdiction import first_outside, is_json
from gx_gateway.settings import SERVICES

router = APIRouter()
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]
MAX_KEY_LEN = 200


@router.api_route("/api/v1/{service}/{rest:path}", methods=METHODS, include_in_schema=False)
async def proxy(service: str, rest: str, request: Request) -> Response:
    caller = await authenticate(request)
    if service not in SERVICES:
        raise AppError(404, "not_found", "请求的资源不存在")
    rt = request.app.state.runtime
    s = rt.settings
    method, role = request.method, caller.claims.role
    # Forwarded byte for byte; the input guard already refused dot-segments and encoded
    # slashes, so decoding it once gives exactly the path the service routes on.
    path_qs = path_and_query(request)
    if not may_call(role, method, unquote(path_qs.split("?", 1)[0])):
        raise Forbidden("当前角色无权执行此操作" if method in MUTATING else "当前角色无权访问",
                        code="role_forbidden")
    body = await read_body(request, s.max_body_bytes)
    outside = first_outside(caller.claims.division, request.query_params,
                            _json_or_none(body, request.headers.get("content-type"), s))
    if outside:
        raise AppError(403, "outside_jurisdiction", f"{outside}：区划代码不在本人管辖范围内",
                       field=outside)

    async def call() -> Upstream:
        return await forward(state(rt).upstream, s, service, method, path_qs, request.headers,
                             body, caller.principal)

    key = request.headers.get("idempotency-key")
    replayed = False
    if key and method in MUTATING:
        if len(key) > MAX_KEY_LEN:
            raise AppError(422, "idempotency_key_invalid",
                           f"幂等键（Idempotency-Key）过长（最多 {MAX_KEY_LEN} 个字符）",
                           field="Idempotency-Key")
        up, replayed = await run_idempotent(
            state(rt).idempotency_pool, s.schema, caller.claims.user_id, key, fingerprint(method, path_qs, body),
            call, s.idempotency_wait_seconds, s.idempotency_stale_seconds)
    else:
        up = await call()
    return to_response(up, replayed)


def _json_or_none(body: bytes, content_type: str | None, s):
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
