"""Who is calling: bearer token, rate limits, and (when presented or required) device proof."""
from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from fastapi import Request
from fastapi.responses import JSONResponse

from gx_kernel.errors import Unauthorized
from gx_kernel.http import PROBLEM_JSON
from gx_kernel.identity import Principal
from gx_kernel.input_guard import body_too_large
from gx_kernel.service import ServiceRuntime

from gx_gateway.application import devices, tokens
from gx_gateway.application.state import state
from gx_gateway.domain.capabilities import is_data_collection
from gx_gateway.domain.device_proof import DEVICE_ID_HEADER
from gx_gateway.domain.ratelimit import RateLimited

__all__ = ["Caller", "RateLimited", "authenticate", "client_address", "identify",
           "path_and_query", "rate_limited_handler", "read_body"]
_DEVICE_ID = DEVICE_ID_HEADER.lower()


async def rate_limited_handler(_: Request, exc: RateLimited) -> JSONResponse:
    return JSONResponse(exc.problem(), status_code=429, media_type=PROBLEM_JSON,
                        headers={"Retry-After": str(exc.retry_after)})


@dataclass(frozen=True)
class Caller:
    claims: tokens.AccessClaims
    device_id: str | None

    @property
    def principal(self) -> Principal:
        c = self.claims
        return Principal(c.user_id, c.username, c.role, c.division, self.device_id, c.name)


def path_and_query(request: Request) -> str:
    """The path exactly as the client sent it (what a device signs), plus the query."""
    raw = request.scope.get("raw_path") or request.url.path.encode()
    path = raw.split(b"?", 1)[0].decode("latin-1")
    qs = request.scope.get("query_string", b"").decode("latin-1")
    return f"{path}?{qs}" if qs else path


async def authenticate(request: Request) -> Caller:
    """FastAPI dependency for every authenticated gateway route."""
    s = request.app.state.runtime.settings

    async def body() -> bytes:
        return await read_body(request, s.max_body_bytes)
    caller = await identify(request.app.state.runtime, request.method, request.url.path,
                            path_and_query(request), request.headers, body)
    request.state.caller = caller
    return caller


async def identify(rt: ServiceRuntime, method: str, path: str, path_qs: str,
                   headers: Mapping[str, str], body: Callable[[], Awaitable[bytes]]) -> Caller:
    """Who calls (the bearer token, not revoked), within the rate limits, with the device
    proof where it is required or presented. `headers` answer lower-case names; `body` gives
    the request body (read only for a device proof). Shared by the FastAPI routes and the
    forwarding path (gx_gateway.api.front)."""
    s = rt.settings
    claims = tokens.verify_access(tokens.bearer(headers.get("authorization")), s.jwt_secret)
    st = state(rt)
    if await st.revoked.is_revoked(claims.family_id):
        raise Unauthorized("登录会话已被撤销（刷新令牌被重复使用），请重新登录",
                           code="session_revoked")
    user_limiter, device_limiter = st.limits
    wait = await user_limiter.take(claims.user_id)
    if wait:
        raise RateLimited(wait, "本账号")
    device_id = None
    # Admin and own-device paths are exempt: an owner must be able to revoke a lost phone from
    # another one, and a phone without a certificate must be able to ask for one.
    presented = headers.get(_DEVICE_ID)
    needs_proof = (s.device_required and is_data_collection(claims.role, method)
                   and not path.startswith(("/api/v1/admin/", "/api/v1/devices/")))
    if needs_proof or presented:
        wait = await device_limiter.take(presented or "")
        if wait:
            raise RateLimited(wait, "本设备")
        device_id = await devices.verify_request(rt, claims.user_id, method, path_qs, headers,
                                                 await body())
    return Caller(claims, device_id)


def client_address(request: Request) -> str:
    """The peer address (uvicorn's --proxy-headers sets it from a trusted proxy)."""
    return request.client.host if request.client else "unknown"


async def read_body(request: Request, limit: int) -> bytes:
    """The body (the kernel's input guard has bounded it already; checked again here)."""
    body = await request.body()
    if len(body) > limit:
        raise body_too_large(limit)
    return body


