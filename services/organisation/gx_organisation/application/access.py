"""Who may see and change what in the organisation service (checked again after the gateway).

A statistician sees every record inside their jurisdiction (division-code prefix) and nothing
outside it (404 for a record, 403 for a division asked for by code). Changes are made by the
office that owns the division or one above it, in the capacity the brief of each item names.
"""
from __future__ import annotations

from gx_contracts.divisions import Level, contains, is_valid_code, level_of, prefix_of
from gx_kernel.errors import AppError, Forbidden
from gx_kernel.identity import Principal

STATISTICIANS = frozenset({"region_statistician", "city_statistician", "county_statistician",
                           "township_statistician"})
ROLE_LEVEL = {"region_statistician": Level.region, "city_statistician": Level.city,
              "county_statistician": Level.county, "township_statistician": Level.township}


def jurisdiction(p: Principal) -> str:
    """The principal's jurisdiction prefix (2/4/6/9/12 digits)."""
    if is_valid_code(p.scope):
        return prefix_of(p.scope)
    if p.scope.isdigit() and len(p.scope) in (2, 4, 6, 9, 12):
        return p.scope
    raise Forbidden("身份凭据中的管辖范围无效", code="bad_scope")


def reader(p: Principal) -> str:
    """Any statistician reads inside their jurisdiction; collectors and systems do not."""
    if p.role not in STATISTICIANS:
        raise Forbidden(f"当前角色（{p.role}）无权查看统计工作组织信息", code="role_forbidden")
    return jurisdiction(p)


def division_in_view(p: Principal, division: str | None, field: str = "division") -> str:
    """The division asked for (default: the principal's own), inside the jurisdiction."""
    scope = reader(p)
    code = division or p.scope
    if not is_valid_code(code):
        raise AppError(422, "bad_division", f"区划代码（{field}）必须是12位数字", field=field)
    if not contains(scope, code):  # a county never sees its city's or the region's figures
        raise Forbidden(f"区划 {code} 不在您的管辖范围内", code="outside_jurisdiction")
    return code


def writer(p: Principal, division: str, roles: set[str] | frozenset[str], what: str) -> None:
    """The principal may change `division`'s record: an allowed role, inside the jurisdiction."""
    if p.role not in roles:
        raise Forbidden(f"当前角色（{p.role}）无权{what}", code="role_forbidden")
    if not contains(jurisdiction(p), division):
        raise Forbidden(f"区划 {division} 不在您的管辖范围内，不能{what}",
                        code="outside_jurisdiction")


def require_level(code: str, levels: set[Level], field: str, what: str) -> Level:
    lv = level_of(code)
    if lv not in levels:
        names = "、".join(x.label_zh for x in sorted(levels, key=lambda x: x.rank))
        raise AppError(422, "wrong_level", f"{what}的区划（{field}）应为{names}级，{code} 是{lv.label_zh}级",
                       field=field)
    return lv


def metadata(p: Principal, causation_id: str | None) -> dict[str, object]:
    """Event metadata: who (id and the name people read), where, from which device."""
    return {"actor": p.user_id, "actor_name": p.name or p.username, "role": p.role,
            "division": p.scope, "device": p.device_id, "causation_id": causation_id}


def reaction_metadata(inbound: dict[str, object], event_id: object) -> dict[str, object]:
    meta = {k: inbound.get(k) for k in ("actor", "actor_name", "role", "division", "device",
                                        "correlation_id")}
    meta["causation_id"] = str(event_id)
    return meta
