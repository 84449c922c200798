"""Account administration (账号管理): create users under the rules; seed the demo users.

Each change is also appended as an event of the gateway's store (who did it, when, from which
device) in the same transaction as the table row, so the audit trail cannot disagree.
"""
from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterable
from typing import Any

import asyncpg

from gx_contracts.divisions import prefix_of
from gx_contracts.events.gateway import UserCreated
from gx_kernel.errors import AppError, Forbidden
from gx_kernel.eventstore import EventStore
from gx_kernel.identity import Principal
from gx_kernel.service import ServiceRuntime
from gx_kernel.uow import UnitOfWork

from gx_gateway.adapters import users_repo as users
from gx_gateway.application import audit, passwords
from gx_gateway.domain import user_rules


async def create_user(rt: ServiceRuntime, creator: Principal, body: dict[str, Any]
                      ) -> dict[str, Any]:
    s = rt.settings
    user_rules.check_new_user(creator.role, creator.scope, body["role"], body["division"])
    user_rules.check_password(body["password"])
    digest = await passwords.hash_password(body["password"], s.argon2_memory_kib)
    user_id = uuid.uuid4()
    async with audit.unit_of_work(rt) as uow:
        row = await users.insert_user(uow.conn, s.schema, user_id, body["username"],
                                      body["name_zh"], body["role"], body["division"], digest,
                                      uuid.UUID(creator.user_id))
        if row is None:
            raise AppError(409, "username_taken", f"用户名（username）已被使用：{body['username']}",
                           field="username")
        _record_created(uow, row, creator)
    return users.public_user(row)


def _record_created(uow: UnitOfWork, row: asyncpg.Record, who: Principal | None) -> None:
    # No name or password material in the event: only what the audit needs.
    created = UserCreated(user_id=row["user_id"], username=row["username"], role=row["role"],
                          division=row["division"])
    audit.record(uow, "user", row["user_id"], who, [created], expected=0)


async def seed_users(pool: asyncpg.Pool, schema: str, users_list: Iterable[dict[str, str]],
                     password: str, memory_kib: int = 65536) -> int:
    """Create the given users (dicts with username, name_zh, role, division) if absent.

    Idempotent: existing usernames are left untouched. Returns how many were created.
    """
    wanted = list(users_list)
    async with pool.acquire() as conn:
        existing = {r["username"] for r in await conn.fetch(
            f"SELECT username FROM {schema}.users WHERE username = ANY($1::text[])",
            [u["username"] for u in wanted])}
    todo = [u for u in wanted if u["username"] not in existing]
    hashes = await asyncio.gather(*(passwords.hash_password(password, memory_kib) for _ in todo))
    created = 0
    async with UnitOfWork(EventStore(pool, schema)) as uow:
        for u, digest in zip(todo, hashes):
            row = await users.insert_user(uow.conn, schema, uuid.uuid4(), u["username"],
                                          u.get("name_zh") or u.get("name") or u["username"],
                                          u["role"], u["division"], digest, None)
            if row is not None:
                _record_created(uow, row, None)
                created += 1
    return created


async def list_users(rt: ServiceRuntime, viewer: Principal) -> list[dict[str, Any]]:
    """Accounts inside the viewer's jurisdiction (region and county administrators only)."""
    if viewer.role not in ("region_statistician", "county_statistician"):
        raise Forbidden("只有自治区统计局或县统计局可以查看账号", code="user_list_forbidden")
    async with rt.pool.acquire() as conn:
        rows = await users.list_users(conn, rt.settings.schema, prefix_of(viewer.scope))
    return [users.public_user(r) for r in rows]
