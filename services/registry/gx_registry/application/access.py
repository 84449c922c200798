"""Who may see and do what in the register (checked here again after the gateway)."""
from __future__ import annotations

from typing import Any

from gx_contracts.divisions import contains, is_valid_code, prefix_of
from gx_kernel.errors import Forbidden, NotFound
from gx_kernel.identity import Principal

REVIEWERS = frozenset({"region_statistician", "city_statistician", "county_statistician",
                       "township_statistician"})
COLLECTORS = frozenset({"village_coordinator", "grid_worker"})
READERS = REVIEWERS | COLLECTORS
MONTHLY_DEPARTMENTS = frozenset({"编制", "民政", "市场监管", "税务", "司法", "宗教"})
"""附件2: the region imports these monthly; 农业农村 quarterly by cities and counties."""


def jurisdiction(p: Principal) -> str:
    if is_valid_code(p.scope):
        return prefix_of(p.scope)
    raise Forbidden("身份凭据中的管辖范围无效", code="bad_scope")


def scope_code(p: Principal) -> str:
    return p.scope


def require_role(p: Principal, roles: frozenset[str] | set[str], what: str) -> None:
    if p.role not in roles:
        raise Forbidden(f"当前角色（{p.role}）无权{what}", code="role_forbidden")


def require_inside(p: Principal, code: str, what: str, thing_id: str) -> None:
    """Outside the jurisdiction the thing does not exist for the caller (404, not 403)."""
    if p.role not in READERS or not contains(jurisdiction(p), code):
        raise NotFound(what, thing_id)


async def lock_inside(conn: Any, s: str, p: Principal, table: str, key: str, value: Any,
                      what: str) -> Any:
    """The row of `table` whose `key` is `value`, locked for the command; 404 when absent or
    outside the caller's jurisdiction (by its division_code)."""
    row = await conn.fetchrow(f"SELECT * FROM {s}.{table} WHERE {key} = $1 FOR UPDATE", value)
    if row is None:
        raise NotFound(what, str(value))
    require_inside(p, row["division_code"], what, str(value))
    return row


def may_import(p: Principal, department: str) -> None:
    if department in MONTHLY_DEPARTMENTS:
        require_role(p, {"region_statistician"}, f"导入{department}部门资料（由自治区统计局按月导入）")
    else:
        require_role(p, {"region_statistician", "city_statistician", "county_statistician"},
                     f"导入{department}部门资料（由市、县统计局按季导入）")


def metadata(p: Principal, causation_id: str | None) -> dict:
    return {"actor": p.user_id, "actor_name": p.name or p.username, "role": p.role,
            "division": p.scope, "device": p.device_id, "causation_id": causation_id}


def reaction_metadata(inbound: dict, event_id) -> dict:
    meta = {k: inbound.get(k) for k in ("actor", "actor_name", "role", "division", "device",
                                        "correlation_id")}
    meta["causation_id"] = str(event_id)
    return meta
