"""Who the caller is, where they may act, and the metadata of what they do."""
from __future__ import annotations

import functools
import hashlib
import hmac
import json
import uuid
from typing import Any

from gx_contracts.divisions import is_valid_code, prefix_of
from gx_kernel.errors import AppError, Forbidden
from gx_kernel.identity import Principal
from gx_kernel.projections import ProjectionRegistry
from gx_kernel.service import ServiceRuntime
from gx_kernel.uow import IdempotencyKey, UnitOfWork

from gx_population.application import area_projections, household_projections
from gx_population.application.projections import projections as _base_projections
from gx_population.application.state import state
from gx_population.privacy.cipher import PersonCipher
from gx_population.privacy.keys import MasterKeys
from gx_population.privacy.pg_keys import PostgresKeyStore

NS = uuid.UUID("6d1f4c1e-6a43-4c3b-9a4e-2b0a1f1c0d45")  # uuid5 namespace of this service


@functools.cache
def projections(s: str) -> ProjectionRegistry:
    """The service's projectors: projections.py's, plus the household and area modules' when
    projections.py does not register them itself (each registered once either way)."""
    registry = _base_projections(s)
    if "population.household.review_followed" not in registry.event_types:
        household_projections.register(registry, s)
    if "population.area_correction.submitted" not in registry.event_types:
        area_projections.register(registry, s)
    return registry


def jurisdiction(p: Principal) -> str:
    if is_valid_code(p.scope):
        return prefix_of(p.scope)
    if p.scope.isdigit() and len(p.scope) in (2, 4, 6, 9, 12):
        return p.scope
    raise Forbidden("身份凭据中的管辖范围无效", code="bad_scope")


def require_role(p: Principal, roles: set[str] | frozenset[str], what: str) -> None:
    if p.role not in roles:
        raise Forbidden(f"当前角色无权{what}", code="role_forbidden")


def metadata(p: Principal, causation_id: str | None) -> dict[str, Any]:
    return {"actor": p.user_id, "actor_name": p.name or p.username, "role": p.role,
            "division": p.scope, "device": p.device_id, "causation_id": causation_id}


def master_keys(rt: ServiceRuntime) -> MasterKeys:
    """The master keys; 503 when the service has none configured."""
    master = state(rt).master
    if master is None:
        raise AppError(503, "master_key_missing",
                       "人口调查服务未配置个人信息加密主密钥，暂不能登记或读取个人信息")
    return master


def cipher(rt: ServiceRuntime, conn: Any) -> PersonCipher:
    """Seals and opens inside the caller's transaction (a new key commits with the events)."""
    return PersonCipher(PostgresKeyStore(conn, f"{rt.settings.schema}.person_keys"),
                        master_keys(rt))


def private_digest(rt: ServiceRuntime, payload: Any) -> str:
    """A keyed digest of a request that holds personal data: the idempotency record keeps
    this, never a plain hash someone could test guesses against."""
    body = json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str).encode()
    return keyed_digest(rt, "idempotency", body)


def keyed_digest(rt: ServiceRuntime, purpose: str, data: bytes) -> str:
    """HMAC-SHA256 of `data` under a key derived from the master key for `purpose`: kept where
    a plain digest of personal data would let anyone test guesses against it."""
    master_keys(rt)
    key = hashlib.sha256(f"gx-population/{purpose}/".encode()
                         + state(rt).master_key_text.encode()).digest()
    return hmac.new(key, data, hashlib.sha256).hexdigest()


def unit_of_work(rt: ServiceRuntime, p: Principal, key: str | None, payload: Any) -> UnitOfWork:
    return UnitOfWork(rt.store, projections=projections(rt.settings.schema),
                      idempotency=IdempotencyKey(p.user_id, key, payload))


def plain_unit_of_work(rt: ServiceRuntime) -> UnitOfWork:
    """No idempotency record: for answers that must never be stored (decrypted reads)."""
    return UnitOfWork(rt.store, projections=projections(rt.settings.schema))
