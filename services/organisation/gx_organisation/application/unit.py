"""What every command handler of the service shares: its unit of work, appending one payload,
looking up divisions."""
from __future__ import annotations

from typing import Any
from uuid import UUID, uuid5

from gx_contracts.events.base import EventPayload, event_fields
from gx_contracts.ids import GXSTAT_NAMESPACE, stream_id
from gx_kernel.errors import AppError
from gx_kernel.eventstore import NewEvent
from gx_kernel.identity import Principal
from gx_kernel.service import ServiceRuntime
from gx_kernel.uow import IdempotencyKey, UnitOfWork

from gx_organisation.application.access import metadata
from gx_organisation.application.projections import projections


def unit_of_work(rt: ServiceRuntime, p: Principal, key: str | None, payload: Any) -> UnitOfWork:
    return UnitOfWork(rt.store, projections=projections(rt.settings.schema),
                      idempotency=IdempotencyKey(p.user_id, key, payload))


def name_id(kind: str, *parts: object) -> UUID:
    """A record's id from what identifies it (e.g. an office: its division and kind)."""
    return uuid5(uuid5(GXSTAT_NAMESPACE, f"organisation.{kind}"), "/".join(map(str, parts)))


def append(uow: UnitOfWork, prefix: str, ident: UUID, expected: int | None,
           payload: EventPayload, p: Principal, key: str | None) -> None:
    uow.collect(stream_id(prefix, ident), expected, [NewEvent(**event_fields(payload))],
                metadata(p, key))


async def division_name(conn: Any, s: str, code: str, field: str) -> str:
    """The division's name; 422 naming the field when the code is not in the division tree."""
    name = await conn.fetchval(f"SELECT name FROM {s}.divisions WHERE code = $1", code)
    if name is None:
        raise AppError(422, "unknown_division", f"区划代码 {code} 不存在（{field}）", field=field)
    return str(name)


async def current_version(conn: Any, store: Any, prefix: str, ident: UUID) -> int:
    """The stream's version now (0 = no such record yet)."""
    v = await conn.fetchval(f"SELECT version FROM {store.schema}.streams WHERE stream_id = $1",
                            stream_id(prefix, ident))
    return int(v or 0)
