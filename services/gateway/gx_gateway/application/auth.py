"""Login (登录) with lock-out, and refresh-token rotation."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

from gx_kernel.errors import AppError, Unauthorized
from gx_kernel.service import ServiceRuntime

from gx_gateway.adapters import users_repo as users
from gx_gateway.application import passwords, tokens
from gx_gateway.settings import GatewaySettings

BAD_CREDENTIALS = ("用户名或密码（password）错误", "invalid_credentials")


def _locked(until: datetime) -> AppError:
    local = until.astimezone(timezone(timedelta(hours=8))).strftime("%H:%M")
    return AppError(403, "account_locked",
                    f"密码连续输错次数过多，账户已锁定，请于 {local}（北京时间）后再试",
                    field="username", extra={"locked_until": until.isoformat()})


async def login(rt: ServiceRuntime, username: str, password: str) -> dict[str, Any]:
    s: GatewaySettings = rt.settings  # type: ignore[assignment]
    async with rt.pool.acquire() as conn:
        row = await users.by_username(conn, s.schema, username)
    if row is None or not row["active"]:
        # Same work and answer as a wrong password: existence is not revealed.
        await passwords.verify_password(passwords.dummy_hash(s.argon2_memory_kib), password,
                                        s.argon2_memory_kib)
        raise Unauthorized(*BAD_CREDENTIALS)
    now = datetime.now(timezone.utc)
    if row["locked_until"] and row["locked_until"] > now:
        raise _locked(row["locked_until"])
    ok = await passwords.verify_password(row["password_hash"], password, s.argon2_memory_kib)
    async with rt.pool.acquire() as conn, conn.transaction():
        # Re-read under lock: concurrent wrong guesses must all count.
        row = await users.by_username(conn, s.schema, username, for_update=True)
        if row["locked_until"] and row["locked_until"] > now:
            raise _locked(row["locked_until"])
        if not ok:
            attempts = row["failed_attempts"] + 1
            until = now + timedelta(seconds=s.lockout_seconds) \
                if attempts >= s.max_failed_logins else None
            await users.record_failure(conn, s.schema, row["user_id"],
                                       0 if until else attempts, until)
        else:
            await users.record_success(conn, s.schema, row["user_id"])
            return await _issue(conn, s, dict(row), uuid.uuid4())
    if until:
        raise _locked(until)
    raise Unauthorized(*BAD_CREDENTIALS)


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
                if row["expires_at"] <= datetime.now(timezone.utc):
                    raise invalid
                user = await users.by_id(conn, s.schema, row["user_id"])
                if user is None or not user["active"]:
                    raise invalid
                await users.mark_used(conn, s.schema, row["token_hash"])
                return await _issue(conn, s, dict(user), row["family_id"])
        if reused:  # raised after commit so the revocation sticks
            raise Unauthorized("刷新令牌（refresh_token）已被使用，为安全起见请重新登录",
                               code="refresh_reused")
    raise invalid


async def _issue(conn, s: GatewaySettings, user: dict, family_id: uuid.UUID) -> dict[str, Any]:
    token, digest = tokens.new_refresh_token()
    expires = datetime.now(timezone.utc) + timedelta(seconds=s.refresh_ttl)
    await users.insert_refresh(conn, s.schema, digest, user["user_id"], family_id, expires)
    return {"access_token": tokens.issue_access(user, s.jwt_secret, s.access_ttl),
            "refresh_token": token, "token_type": "bearer", "expires_in": s.access_ttl,
            "refresh_expires_in": s.refresh_ttl, "user": users.public_user(user)}
