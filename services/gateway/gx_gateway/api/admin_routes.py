"""/api/v1/admin/...: accounts (账号), devices (手机安全证书), subscribers' topics (订阅授权);
/api/v1/devices/...: a coordinator's own phone (登记申请、本人设备)."""
from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from gx_contracts.commands import CreateUser, EnrolDevice, GrantTopics, RevokeDevice

from gx_gateway.api.caller import Caller, authenticate
from gx_gateway.application import accounts, auth, device_requests, devices, subscriptions

admin = APIRouter(prefix="/api/v1/admin", tags=["管理"])
own_devices = APIRouter(prefix="/api/v1/devices", tags=["手机安全证书"])


class RequestDevice(BaseModel):
    """申请登记本机（手机或浏览器自行生成 Ed25519 密钥对，只上传公钥）."""

    model_config = ConfigDict(extra="forbid")
    label: str = Field(min_length=1, max_length=64, title="设备名称")
    public_key: str = Field(min_length=40, max_length=64, title="设备公钥（Base64，Ed25519）")


class RejectDeviceRequest(BaseModel):
    """驳回登记申请."""

    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=200, title="驳回原因")


@own_devices.post("/requests", status_code=201, summary="申请登记本机安全证书")
async def request_device(body: RequestDevice, request: Request,
                         caller: Caller = Depends(authenticate)) -> dict:
    return await device_requests.request(request.app.state.runtime, caller.principal,
                                         body.model_dump())


@own_devices.get("/mine", summary="本人的手机与登记申请")
async def my_devices(request: Request, caller: Caller = Depends(authenticate)) -> dict:
    return await device_requests.mine(request.app.state.runtime, caller.principal)


@admin.post("/users", status_code=201, summary="创建账号")
async def create_user(body: CreateUser, request: Request,
                      caller: Caller = Depends(authenticate)) -> dict:
    data = body.model_dump(mode="json")
    return await accounts.create_user(request.app.state.runtime, caller.principal, data)


@admin.get("/users", summary="本级管辖范围内的账号")
async def list_users(request: Request, caller: Caller = Depends(authenticate)) -> dict:
    return {"items": await accounts.list_users(request.app.state.runtime, caller.principal)}


@admin.post("/users/{username}/unlock", summary="解除账号的登录限制（密码多次输错后的延迟）")
async def unlock_user(username: str, request: Request,
                      caller: Caller = Depends(authenticate)) -> dict:
    return await auth.unlock(request.app.state.runtime, caller.principal, username)


@admin.post("/devices", status_code=201, summary="登记采集手机")
async def enrol_device(body: EnrolDevice, request: Request,
                       caller: Caller = Depends(authenticate)) -> dict:
    return await devices.enrol(request.app.state.runtime, caller.principal, body.model_dump())


@admin.get("/devices", summary="本级管辖范围内已登记的手机")
async def list_devices(request: Request, caller: Caller = Depends(authenticate)) -> dict:
    return {"items": await device_requests.list_devices(request.app.state.runtime,
                                                        caller.principal)}


@admin.get("/devices/requests", summary="本级管辖范围内的手机登记申请")
async def list_device_requests(
        request: Request, caller: Caller = Depends(authenticate),
        status: Literal["pending", "approved", "rejected", "withdrawn"] = Query("pending")
) -> dict:
    return {"items": await device_requests.list_requests(request.app.state.runtime,
                                                         caller.principal, status)}


@admin.post("/devices/requests/{request_id}/approve", summary="批准手机登记申请")
async def approve_device_request(request_id: str, request: Request,
                                 caller: Caller = Depends(authenticate)) -> dict:
    return await device_requests.approve(request.app.state.runtime, caller.principal,
                                         request_id)


@admin.post("/devices/requests/{request_id}/reject", summary="驳回手机登记申请")
async def reject_device_request(request_id: str, body: RejectDeviceRequest, request: Request,
                                caller: Caller = Depends(authenticate)) -> dict:
    return await device_requests.reject(request.app.state.runtime, caller.principal,
                                        request_id, body.reason)


@admin.post("/devices/{device_id}/revoke", summary="吊销手机安全证书")
async def revoke_device(device_id: str, body: RevokeDevice, request: Request,
                        caller: Caller = Depends(authenticate)) -> dict:
    return await devices.revoke(request.app.state.runtime, caller.principal, device_id,
                                body.reason)


@admin.post("/subscribers/{username}/topics", summary="授予/收回订阅系统的主题读取权限")
async def change_topics(username: str, body: GrantTopics, request: Request,
                        caller: Caller = Depends(authenticate)) -> dict:
    return await subscriptions.change_topics(request.app.state.runtime, caller.principal,
                                             username, body.grant, body.revoke)


@admin.get("/subscribers/{username}/topics", summary="订阅系统已获授权的主题")
async def granted_topics(username: str, request: Request,
                         caller: Caller = Depends(authenticate)) -> dict:
    return await subscriptions.granted(request.app.state.runtime, caller.principal, username)


# main.py includes `router`: both groups of routes come with it.
router = APIRouter()
router.include_router(admin)
router.include_router(own_devices)
