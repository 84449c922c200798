"""Who may see and change what (checked again here even though the gateway checked login)."""
from __future__ import annotations

from gx_contracts.divisions import contains, is_valid_code, prefix_of
from gx_kernel.errors import Forbidden, NotFound
from gx_kernel.identity import Principal

from gx_agri.domain.report import COORDINATOR, READER_ROLES, REVIEWER_ROLES


def jurisdiction(p: Principal) -> str:
    """The principal's jurisdiction prefix (2/4/6/9/12 digits)."""
    if is_valid_code(p.scope):
        return prefix_of(p.scope)
    if p.scope.isdigit() and len(p.scope) in (2, 4, 6, 9, 12):
        return p.scope
    raise Forbidden("身份凭据中的管辖范围无效", code="bad_scope")


def require_role(p: Principal, roles: frozenset[str] | set[str], what: str) -> None:
    if p.role not in roles:
        raise Forbidden(f"当前角色（{p.role}）无权{what}", code="role_forbidden")


def require_reader(p: Principal, village_code: str, report_id: str) -> None:
    """Readers inside the jurisdiction; outside it the report does not exist for them."""
    if p.role not in READER_ROLES or not contains(jurisdiction(p), village_code):
        raise NotFound("报表", report_id)


def require_owner(p: Principal, village_code: str, report_id: str) -> None:
    """Only the village's own coordinator fills and submits its report."""
    require_reader(p, village_code, report_id)
    if p.role != COORDINATOR or jurisdiction(p) != village_code:
        raise Forbidden("只有本村的村级统计协管员可以填报和提交此报表", code="not_report_owner")


def require_reviewer_over(p: Principal, division_code: str) -> None:
    require_role(p, REVIEWER_ROLES, "查看汇总数据")
    if not contains(jurisdiction(p), division_code):
        raise Forbidden(f"区划 {division_code} 不在您的管辖范围内", code="outside_jurisdiction")


def metadata(p: Principal, causation_id: str | None) -> dict:
    """Event metadata: who (id, and the name people read: 姓名, else the username), where, from
    which device."""
    return {"actor": p.user_id, "actor_name": p.name or p.username, "role": p.role,
            "division": p.scope, "device": p.device_id, "causation_id": causation_id}


def reaction_metadata(inbound: dict, event_id) -> dict:
    """Metadata of an event raised in reaction to an inbound one: its actor, caused by it."""
    meta = {k: inbound.get(k) for k in ("actor", "actor_name", "role", "division", "device",
                                        "correlation_id")}
    meta["causation_id"] = str(event_id)
    return meta
