"""Login (登录) with throttling, refresh-token rotation, administrators' unlock."""
from __future__ import annotations

import itertools
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from gx_contracts.divisions import contains
from gx_contracts.events.gateway import UserUnlocked
from gx_kernel.errors import Forbidden, NotFound, Unauthorized
from gx_kernel.identity import Principal
from gx_kernel.service import ServiceRuntime

from gx_gateway.adapters import throttle_repo as throttle
from gx_gateway.adapters import users_repo as users
from gx_gateway.application import audit, passwords, tokens
from gx_gateway.application.state import state
from gx_gateway.domain import login_throttle as rules
from gx_gateway.domain.ratelimit import RateLimited
from gx_gateway.settings import GatewaySettings

BAD_CREDENTIALS = ("用户名或密码（password）错误", "invalid_credentials")
UNLOCK_ROLES = ("region_statistician", "city_statistician", "county_statistician")
_FAILURES = itertools.count(1)  # in this process: every 50th failure tidies the throttle table
DeviceProof = Callable[[str], Awaitable[str | None]]
"""Given the named user's id: the id of that user's enrolled phone that signed this request."""


def policy(s: GatewaySettings) -> rules.Policy:
    return rules.Policy(s.login_free_failures_user, s.login_free_failures_address,
                        s.login_max_delay_seconds, s.login_window_seconds)


async def login(rt: ServiceRuntime, username: str, password: str, address: str,
                device_proof: DeviceProof | None = None) -> dict[str, Any]:
    """Unknown, inactive and wrong-password names get the same answer after the same work;
    a held-back name or address gets 429 whether or not the name exists."""
    s: GatewaySettings = rt.settings  # type: ignore[assignment]
    row = await users.by_username(rt.pool, s.schema, username)
    live = row is not None and row["active"]
    device = await device_proof(str(row["user_id"]) if live else "") if device_proof else None
    keys = rules.keys_for(username, address, device)
    wait = await throttle.wait_seconds(rt.pool, s.schema, [k for k, _ in keys])
    if wait:
        raise RateLimited(wait, "登录", code="login_throttled")
    digest = row["password_hash"] if live else passwords.dummy_hash(s.argon2_memory_kib)
    ok = await passwords.verify_password(digest, password, s.argon2_memory_kib) and live
    async with rt.pool.acquire() as conn, conn.transaction():
        if not ok:
            await _count_failure(conn, s, keys)
        else:
            await throttle.clear(conn, s.schema, [k for k, kind in keys if kind != rules.ADDRESS]
                                 + [rules.user_key(username)])
            return await _issue(conn, s, dict(row), uuid.uuid4())
    raise Unauthorized(*BAD_CREDENTIALS)


async def _count_failure(conn, s: GatewaySettings, keys: list[tuple[str, str]]) -> None:
    p = policy(s)
    for key, kind in keys:
        failures = await throttle.count_failure(conn, s.schema, key, p.window_seconds)
        delay = p.delay_after(kind, failures)
        if delay:
            await throttle.hold_back(conn, s.schema, key, delay)
    if next(_FAILURES) % 50 == 0:  # now and then, so the table stays small
        await throttle.forget_quiet(conn, s.schema, p.window_seconds)


async def unlock(rt: ServiceRuntime, admin: Principal, username: str) -> dict[str, Any]:
    """An administrator over the user's division lifts the throttle on that name (audited)."""
    if admin.role not in UNLOCK_ROLES:
        raise Forbidden("只有县级及以上统计局可以解除账号的登录限制", code="unlock_forbidden")
    s: GatewaySettings = rt.settings  # type: ignore[assignment]
    async with audit.unit_of_work(rt) as uow:
        row = await users.by_username(uow.conn, s.schema, username)
        if row is None:
            raise NotFound("用户（username）", username)
        if not contains(admin.scope, row["division"]):
            raise Forbidden("该用户不在本级管辖范围内", code="outside_jurisdiction")
        held = await throttle.clear(uow.conn, s.schema, [rules.user_key(username)])
        unlocked = UserUnlocked(user_id=row["user_id"], username=row["username"],
                                was_held=held > 0)
        audit.record(uow, "user", row["user_id"], admin, [unlocked])
    return {"username": row["username"], "was_held": held > 0}


async def refresh(rt: ServiceRuntime, refresh_token: str) -> dict[str, Any]:
    """Rotate: the presented token is spent; presenting a spent one again revokes its family."""
    s: GatewaySettings = rt.settings  # type: ignore[assignment]
    invalid = Unauthorized("刷新令牌（refresh_token）无效或已过期，请重新登录", code="refresh_invalid")
    async with rt.pool.acquire() as conn:
        async with conn.transaction():
            row = await users.take_refresh(conn, s.schema, tokens.hash_refresh(refresh_token))
            if row is None or row["revoked_at"] is not None:
                raise invalid
            if row["used_at"] is not None:
                # Reuse of a rotated token means it leaked: end the whole login session.
                await users.revoke_family(conn, s.schema, row["family_id"])
                reused = True
            else:
                reused = False
                if row["expires_at"] <= datetime.now(UTC):
                    raise invalid
                user = await users.by_id(conn, s.schema, row["user_id"])
                if user is None or not user["active"]:
                    raise invalid
                await users.mark_used(conn, s.schema, row["token_hash"])
                return await _issue(conn, s, dict(user), row["family_id"])
        if reused:  # raised after commit so the revocation sticks
            state(rt).revoked.add(str(row["family_id"]))
            raise Unauthorized("刷新令牌（refresh_token）已被使用，为安全起见请重新登录",
                               code="refresh_reused")
    raise invalid


async def _issue(conn, s: GatewaySettings, user: dict, family_id: uuid.UUID) -> dict[str, Any]:
    token, digest = tokens.new_refresh_token()
    expires = datetime.now(UTC) + timedelta(seconds=s.refresh_ttl)
    await users.insert_refresh(conn, s.schema, digest, user["user_id"], family_id, expires)
    return {"access_token": tokens.issue_access(user, s.jwt_secret, s.access_ttl,
                                                family_id=family_id),
            "refresh_token": token, "token_type": "bearer", "expires_in": s.access_ttl,
            "refresh_expires_in": s.refresh_ttl, "user": users.public_user(user)}
