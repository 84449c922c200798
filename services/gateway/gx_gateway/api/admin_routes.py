"""/api/v1/admin/...: accounts (账号), devices (手机安全证书), subscribers' topics (订阅授权)."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from gx_contracts.commands import CreateUser, EnrolDevice, GrantTopics, RevokeDevice

from gx_gateway.api.caller import Caller, authenticate
from gx_gateway.application import accounts, devices, subscriptions

router = APIRouter(prefix="/api/v1/admin", tags=["管理"])


@router.post("/users", status_code=201, summary="创建账号")
async def create_user(body: CreateUser, request: Request,
                      caller: Caller = Depends(authenticate)) -> dict:
    data = body.model_dump(mode="json")
    return await accounts.create_user(request.app.state.runtime, caller.principal, data)


@router.get("/users", summary="本级管辖范围内的账号")
async def list_users(request: Request, caller: Caller = Depends(authenticate)) -> dict:
    return {"items": await accounts.list_users(request.app.state.runtime, caller.principal)}


@router.post("/devices", status_code=201, summary="登记采集手机")
async def enrol_device(body: EnrolDevice, request: Request,
                       caller: Caller = Depends(authenticate)) -> dict:
    return await devices.enrol(request.app.state.runtime, caller.principal, body.model_dump())


@router.post("/devices/{device_id}/revoke", summary="吊销手机安全证书")
async def revoke_device(device_id: str, body: RevokeDevice, request: Request,
                        caller: Caller = Depends(authenticate)) -> dict:
    return await devices.revoke(request.app.state.runtime, caller.principal, device_id,
                                body.reason)


@router.post("/subscribers/{username}/topics", summary="授予/收回订阅系统的主题读取权限")
async def change_topics(username: str, body: GrantTopics, request: Request,
                        caller: Caller = Depends(authenticate)) -> dict:
    return await subscriptions.change_topics(request.app.state.runtime, caller.principal,
                                             username, body.grant, body.revoke)


@router.get("/subscribers/{username}/topics", summary="订阅系统已获授权的主题")
async def granted_topics(username: str, request: Request,
                         caller: Caller = Depends(authenticate)) -> dict:
    return await subscriptions.granted(request.app.state.runtime, caller.principal, username)
