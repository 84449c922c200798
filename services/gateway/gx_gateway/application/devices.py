"""Device enrolment, revocation and per-request proof (手机安全证书)."""
from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from typing import Any

from gx_contracts.divisions import contains
from gx_contracts.events.gateway import DeviceEnrolled, DeviceRevoked
from gx_kernel.errors import AppError, Forbidden, NotFound, Unauthorized
from gx_kernel.identity import Principal
from gx_kernel.service import ServiceRuntime
from gx_kernel.uow import UnitOfWork

from gx_gateway.adapters import devices_repo as devices
from gx_gateway.adapters import users_repo as users
from gx_gateway.application import audit
from gx_gateway.domain import device_proof as proof
from gx_gateway.domain.capabilities import DATA_COLLECTION_ROLES

ADMIN_ROLES = ("region_statistician", "county_statistician")


def check_admin(admin: Principal, owner_division: str) -> None:
    if admin.role not in ADMIN_ROLES:
        raise Forbidden("只有自治区统计局或县统计局可以登记或吊销手机", code="device_admin_forbidden")
    if not contains(admin.scope, owner_division):
        raise Forbidden("该用户不在本级管辖范围内", code="outside_jurisdiction")


def parse_key(text: str) -> bytes:
    try:
        return proof.parse_public_key(text)
    except ValueError:
        raise AppError(422, "public_key_invalid",
                       "设备公钥（public_key）应为 Base64 编码的 32 字节 Ed25519 公钥",
                       field="public_key") from None


def check_collector(owner: Mapping[str, Any]) -> None:
    if owner["role"] not in {r.value for r in DATA_COLLECTION_ROLES}:
        raise AppError(422, "device_role_invalid",
                       "只能为村级统计协管员或网格员登记采集手机（username）", field="username")


async def enrol_in(rt: ServiceRuntime, uow: UnitOfWork, admin: Principal,
                   owner: Mapping[str, Any], label: str, key: bytes):
    """The one enrolment path (direct, or approving a phone's request): row + event."""
    check_admin(admin, owner["division"])
    check_collector(owner)
    row = await devices.insert(uow.conn, rt.settings.schema, uuid.uuid4(), owner["user_id"],
                               label, key, uuid.UUID(admin.user_id))
    enrolled = DeviceEnrolled(device_id=row["device_id"], user_id=owner["user_id"],
                              division=owner["division"])
    audit.record(uow, "device", row["device_id"], admin, [enrolled], expected=0)
    return row


async def enrol(rt: ServiceRuntime, admin: Principal, body: dict[str, Any]) -> dict[str, Any]:
    key = parse_key(body["public_key"])
    async with audit.unit_of_work(rt) as uow:
        owner = await users.by_username(uow.conn, rt.settings.schema, body["username"])
        if owner is None:
            raise NotFound("用户（username）", body["username"])
        row = await enrol_in(rt, uow, admin, owner, body["label"], key)
    return devices.public_device(row)


async def revoke(rt: ServiceRuntime, admin: Principal, device_id: str, reason: str
                 ) -> dict[str, Any]:
    s = rt.settings
    async with audit.unit_of_work(rt) as uow:
        row = await devices.get(uow.conn, s.schema, device_id)
        if row is None:
            raise NotFound("设备（device_id）", device_id)
        owner = await users.by_id(uow.conn, s.schema, row["user_id"])
        if admin.user_id != str(row["user_id"]):  # the owner may always revoke their own phone
            check_admin(admin, owner["division"])
        revoked = await devices.revoke(uow.conn, s.schema, row["device_id"],
                                       uuid.UUID(admin.user_id))
        if revoked is None:
            return devices.public_device(row)  # already revoked: same answer, no new event
        gone = DeviceRevoked(device_id=row["device_id"], reason=reason)
        audit.record(uow, "device", row["device_id"], admin, [gone])
    return devices.public_device(revoked)


async def verify_request(rt: ServiceRuntime, user_id: str, method: str, path_qs: str,
                         headers: Mapping[str, str], body: bytes) -> str:
    """The device id proven by this request's signature headers, or 401/403."""
    device_id = headers.get(proof.DEVICE_ID_HEADER.lower()) or ""
    stamp = headers.get(proof.TIMESTAMP_HEADER.lower()) or ""
    signature = headers.get(proof.SIGNATURE_HEADER.lower()) or ""
    if not (device_id and stamp and signature):
        raise Unauthorized("数据采集请求须使用已登记手机的安全证书签名（X-Gx-Device-Id、"
                           "X-Gx-Timestamp、X-Gx-Signature）", code="device_proof_missing")
    if not proof.timestamp_fresh(stamp, time.time(), rt.settings.device_clock_skew):
        raise Unauthorized("设备签名时间戳（X-Gx-Timestamp）已过期或手机时间不准",
                           code="device_timestamp_invalid")
    row = await devices.get(rt.pool, rt.settings.schema, device_id)
    if row is None or str(row["user_id"]) != user_id:
        raise Unauthorized("设备（X-Gx-Device-Id）未登记或不属于当前用户", code="device_unknown")
    if row["revoked_at"] is not None:
        raise Forbidden("本机安全证书已被吊销，请联系县统计局重新登记", code="device_revoked")
    msg = proof.canonical_message(device_id, method, path_qs, stamp, body)
    if not proof.verify_signature(bytes(row["public_key"]), signature, msg):
        raise Unauthorized("设备签名（X-Gx-Signature）无效", code="device_signature_invalid")
    return str(row["device_id"])
