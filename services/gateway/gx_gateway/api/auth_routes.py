"""/api/v1/auth/login, /api/v1/auth/refresh, /api/v1/me."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from gx_contracts.commands import Login, Refresh

from gx_kernel.errors import Unauthorized

from gx_gateway.adapters import users_repo as users
from gx_gateway.api.caller import Caller, authenticate
from gx_gateway.application import auth

router = APIRouter(prefix="/api/v1", tags=["认证"])


@router.post("/auth/login", summary="登录")
async def login(body: Login, request: Request) -> dict:
    return await auth.login(request.app.state.runtime, body.username, body.password)


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
