"""Enrolment requests (登记申请): the phone asks, the county (or region) approves or rejects.

The browser or phone generates its key pair itself and sends only the public key. Approval
goes through the same enrolment path as `POST /api/v1/admin/devices` (devices.enrol_in).
Events carry ids and the division only (no names, no key material).
"""
from __future__ import annotations

import hashlib
import uuid
from typing import Any

from gx_contracts.divisions import prefix_of
from gx_contracts.events.gateway import (
    DeviceRequestApproved,
    DeviceRequested,
    DeviceRequestRejected,
)
from gx_contracts.types import EventPayload
from gx_kernel.errors import Conflict, Forbidden, NotFound
from gx_kernel.identity import Principal
from gx_kernel.service import ServiceRuntime
from gx_kernel.uow import UnitOfWork

from gx_gateway.adapters import devices_repo as devices
from gx_gateway.adapters import users_repo as users
from gx_gateway.application import audit
from gx_gateway.application.devices import ADMIN_ROLES, check_admin, enrol_in, parse_key
from gx_gateway.domain.capabilities import DATA_COLLECTION_ROLES

STATUSES = ("pending", "approved", "rejected", "withdrawn")


def fingerprint(public_key: bytes) -> str:
    """What both screens show so the county can compare by telephone (证书指纹)."""
    digest = hashlib.sha256(public_key).hexdigest()[:16].upper()
    return " ".join(digest[i:i + 4] for i in range(0, 16, 4))


def _with_fingerprint(row) -> dict[str, Any]:
    return {**devices.public_request(row), "fingerprint": fingerprint(bytes(row["public_key"]))}


def _event(uow: UnitOfWork, who: Principal, request_id, event: EventPayload,
           expected: int | None) -> None:
    audit.record(uow, "device-request", request_id, who, [event], expected)


async def request(rt: ServiceRuntime, owner: Principal, body: dict[str, Any]) -> dict[str, Any]:
    """A village coordinator or grid worker asks to enrol this phone/browser for themself."""
    if owner.role not in {r.value for r in DATA_COLLECTION_ROLES}:
        raise Forbidden("只有村级统计协管员和网格员需要登记采集手机", code="device_request_forbidden")
    key = parse_key(body["public_key"])
    async with audit.unit_of_work(rt) as uow:
        row = await devices.insert_request(uow.conn, rt.settings.schema, uuid.uuid4(),
                                           uuid.UUID(owner.user_id), body["label"], key)
        _event(uow, owner, row["request_id"], DeviceRequested(
            request_id=row["request_id"], user_id=owner.user_id, division=owner.scope), 0)
    return _with_fingerprint(row)


async def mine(rt: ServiceRuntime, owner: Principal) -> dict[str, Any]:
    """The caller's own devices and recent requests (so a browser learns it was approved)."""
    s = rt.settings
    rows = await devices.of_user(rt.pool, s.schema, owner.user_id)
    reqs = await devices.requests_of_user(rt.pool, s.schema, owner.user_id)
    return {"devices": [{**devices.public_device(r),
                         "fingerprint": fingerprint(bytes(r["public_key"]))} for r in rows],
            "requests": [_with_fingerprint(r) for r in reqs]}


def _check_lister(admin: Principal) -> None:
    if admin.role not in ADMIN_ROLES:
        raise Forbidden("只有自治区统计局或县统计局可以审批手机登记", code="device_admin_forbidden")


async def list_requests(rt: ServiceRuntime, admin: Principal, status: str) -> list[dict]:
    _check_lister(admin)
    rows = await devices.requests_in_jurisdiction(rt.pool, rt.settings.schema,
                                                  prefix_of(admin.scope), status)
    return [_with_fingerprint(r) for r in rows]


async def list_devices(rt: ServiceRuntime, admin: Principal) -> list[dict]:
    _check_lister(admin)
    rows = await devices.in_jurisdiction(rt.pool, rt.settings.schema, prefix_of(admin.scope))
    return [{**devices.public_device(r), "username": r["username"], "name_zh": r["name_zh"],
             "role": r["role"], "division": r["division"], "fingerprint": fingerprint(bytes(r["public_key"]))}
            for r in rows]


async def _pending(conn, rt: ServiceRuntime, admin: Principal, request_id: str):
    """The request (locked) and its owner, after the admin and jurisdiction checks."""
    _check_lister(admin)
    row = await devices.get_request(conn, rt.settings.schema, request_id)
    if row is None:
        raise NotFound("登记申请（request_id）", request_id)
    owner = await users.by_id(conn, rt.settings.schema, row["user_id"])
    if not owner or not owner["active"]:
        raise NotFound("登记申请（request_id）", request_id)
    check_admin(admin, owner["division"])
    if row["status"] != "pending":
        raise Conflict(f"该登记申请已处理（{row['status']}）", code="device_request_decided",
                       status_now=row["status"])
    return row, owner


async def approve(rt: ServiceRuntime, admin: Principal, request_id: str) -> dict[str, Any]:
    s = rt.settings
    async with audit.unit_of_work(rt) as uow:
        row, owner = await _pending(uow.conn, rt, admin, request_id)
        device = await enrol_in(rt, uow, admin, owner, row["label"], bytes(row["public_key"]))
        done = await devices.decide_request(uow.conn, s.schema, row["request_id"], "approved",
                                            uuid.UUID(admin.user_id), None, device["device_id"])
        _event(uow, admin, row["request_id"], DeviceRequestApproved(
            request_id=row["request_id"], device_id=device["device_id"]), None)
    return _with_fingerprint(done)


async def reject(rt: ServiceRuntime, admin: Principal, request_id: str, reason: str
                 ) -> dict[str, Any]:
    s = rt.settings
    async with audit.unit_of_work(rt) as uow:
        row, _ = await _pending(uow.conn, rt, admin, request_id)
        done = await devices.decide_request(uow.conn, s.schema, row["request_id"], "rejected",
                                            uuid.UUID(admin.user_id), reason, None)
        # The reason stays in the table (shown to the owner), not in the event.
        _event(uow, admin, row["request_id"],
               DeviceRequestRejected(request_id=row["request_id"]), None)
    return _with_fingerprint(done)
