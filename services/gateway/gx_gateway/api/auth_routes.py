"""/api/v1/auth/login, /api/v1/auth/refresh, /api/v1/me."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from gx_contracts.commands import Login, Refresh
from gx_kernel.errors import AppError, Unauthorized

from gx_gateway.adapters import users_repo as users
from gx_gateway.api.caller import Caller, authenticate, client_address, path_and_query
from gx_gateway.application import auth, devices
from gx_gateway.domain.device_proof import DEVICE_ID_HEADER

router = APIRouter(prefix="/api/v1", tags=["认证"])


@router.post("/auth/login", summary="登录",
             description="密码多次输错后，按用户名和客户端地址逐步延迟（429，Retry-After）。"
                         "用本人已登记手机签名（X-Gx-Device-Id 等）登录不受他人猜测的影响。")
async def login(body: Login, request: Request) -> dict:
    rt = request.app.state.runtime
    proof = None
    if request.headers.get(DEVICE_ID_HEADER):
        raw = await request.body()

        async def proof(user_id: str) -> str | None:
            try:
                return await devices.verify_request(rt, user_id, request.method,
                                                    path_and_query(request), request.headers, raw)
            except AppError:
                return None  # not proven: an ordinary (throttled) login, same answers
    return await auth.login(rt, body.username, body.password, client_address(request), proof)


@router.post("/auth/refresh", summary="刷新访问令牌（轮换刷新令牌）")
async def refresh(body: Refresh, request: Request) -> dict:
    return await auth.refresh(request.app.state.runtime, body.refresh_token)


@router.get("/me", summary="当前用户")
async def me(request: Request, caller: Caller = Depends(authenticate)) -> dict:
    rt = request.app.state.runtime
    async with rt.pool.acquire() as conn:
        row = await users.by_id(conn, rt.settings.schema, caller.claims.user_id)
    if row is None or not row["active"]:
        raise Unauthorized("账号不存在或已停用", code="account_inactive")
    return {**users.public_user(row), "device_id": caller.device_id}
