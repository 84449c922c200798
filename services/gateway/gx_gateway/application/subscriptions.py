"""Subscribers (订阅系统): which topics each outside system may read, and how to connect.

The grants live here; the Kafka cluster enforces them with SASL users and ACLs that the region
sets up from these grants (commands in the README) — the gateway does not proxy Kafka.
"""
from __future__ import annotations

import uuid
from typing import Any

from gx_contracts.events.gateway import SubscriptionGranted, SubscriptionRevoked
from gx_contracts.roles import Role
from gx_kernel.errors import AppError, Forbidden, NotFound
from gx_kernel.identity import Principal
from gx_kernel.kafka import KafkaSecurity
from gx_kernel.service import ServiceRuntime

from gx_gateway.adapters import subscriptions_repo as repo
from gx_gateway.adapters import users_repo as users
from gx_gateway.application import audit
from gx_gateway.application.contract_files import event_schema_names
from gx_gateway.domain import topics as tp

API = "/api/v1"


def _require_region(p: Principal) -> None:
    if p.role != Role.region_statistician.value:
        raise Forbidden("只有自治区统计局可以管理订阅授权", code="subscription_admin_forbidden")


async def _subscriber(conn, schema: str, username: str):
    row = await users.by_username(conn, schema, username)
    if row is None:
        raise NotFound("用户（username）", username)
    if row["role"] != Role.subscriber.value:
        raise AppError(422, "not_a_subscriber", f"用户（username）{username} 不是订阅系统账号",
                       field="username")
    return row


async def change_topics(rt: ServiceRuntime, admin: Principal, username: str,
                        grant: list[str], revoke: list[str]) -> dict[str, Any]:
    """Grant and revoke (set semantics: repeating a call changes nothing); the current grants."""
    _require_region(admin)
    grant, revoke = tp.check_topics(grant, "grant"), tp.check_topics(revoke, "revoke")
    both = set(grant) & set(revoke)
    if both:
        raise AppError(422, "topic_both", f"同一主题不能同时授予和收回（revoke）：{'、'.join(both)}",
                       field="revoke")
    s = rt.settings
    async with audit.unit_of_work(rt) as uow:
        row = await _subscriber(uow.conn, s.schema, username)
        uid = row["user_id"]
        added = await repo.grant(uow.conn, s.schema, uid, grant, uuid.UUID(admin.user_id))
        removed = await repo.revoke(uow.conn, s.schema, uid, revoke)
        changes = ([SubscriptionGranted(user_id=uid, topic=t) for t in added]
                   + [SubscriptionRevoked(user_id=uid, topic=t) for t in removed])
        audit.record(uow, "subscriber", uid, admin, changes)
        current = await repo.topics_of(uow.conn, s.schema, uid)
    return {"username": username, "granted": added, "revoked": removed,
            "topics": [r["topic"] for r in current]}


async def granted(rt: ServiceRuntime, admin: Principal, username: str) -> dict[str, Any]:
    _require_region(admin)
    async with rt.pool.acquire() as conn:
        row = await _subscriber(conn, rt.settings.schema, username)
        current = await repo.topics_of(conn, rt.settings.schema, row["user_id"])
    return {"username": username, "topics": [r["topic"] for r in current]}


def connection_details(s: Any, account: str) -> dict[str, Any]:
    """The deployment's real connection settings for outside systems (never hard-coded): the
    public ones when set, else those the gateway's own Kafka clients use."""
    own = KafkaSecurity()
    return tp.connection(s.public_kafka_bootstrap or s.kafka_bootstrap_servers,
                         s.public_kafka_security_protocol or own.security_protocol,
                         s.public_kafka_sasl_mechanism or own.sasl_mechanism, account)


async def my_subscriptions(rt: ServiceRuntime, p: Principal) -> dict[str, Any]:
    """What a subscriber needs to consume its topics (连接说明)."""
    if p.role != Role.subscriber.value:
        raise Forbidden("只有订阅系统账号有订阅", code="not_a_subscriber")
    s = rt.settings
    rows = await repo.topics_of(rt.pool, s.schema, uuid.UUID(p.user_id))
    files = event_schema_names(s)
    return {
        "subscriber": p.username,
        "kafka": connection_details(s, p.username),
        "key": "stream id, UTF-8 (e.g. report-<uuid>, case-<uuid>)",
        "partitioner": tp.PARTITIONER,
        "headers": tp.CE_HEADERS,
        "value": {"format": "JSON envelope {id, type, schema_version, stream_id, version, data, "
                            "metadata, time}", "schema": f"{API}/schemas/envelope.json"},
        "asyncapi": f"{API}/asyncapi.yaml",
        "replay": tp.replay_recipe(tp.group_prefix(p.username)),
        "topics": [{"name": r["topic"], "topic": s.topic(r["topic"]),
                    "description_zh": tp.PUBLIC_TOPICS.get(r["topic"], ""),
                    "granted_at": r["granted_at"].isoformat(),
                    "events": [{"type": t, "schema_version": v,
                                "schema": f"{API}/schemas/events/{name}"}
                               for t, v, name in tp.event_types_of(r["topic"], files)]}
                   for r in rows],
    }
