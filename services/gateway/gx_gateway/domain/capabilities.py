"""Coarse role capabilities at the gateway (角色能力表). Services check again, in detail.

Reads (GET/HEAD) are open to every signed-in role but `subscriber` — each service filters by
jurisdiction; an outside system reads events from Kafka (its granted topics), never the
services' records over HTTP (SPEC §1: "reads events only"). A mutation is allowed when the
longest matching (method, path prefix) rule lists the role.
"""
from __future__ import annotations

from gx_contracts.roles import Role

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})

R = Role
_REVIEWERS = {R.township_statistician, R.county_statistician, R.city_statistician,
              R.region_statistician}
_COLLECTORS = {R.village_coordinator, R.grid_worker}

# (methods, path prefix, roles). Longest prefix wins among rules whose methods match.
RULES: list[tuple[frozenset[str], str, frozenset[Role]]] = [
    (MUTATING, "/api/v1/agri/", frozenset(_REVIEWERS | {R.village_coordinator})),
    (frozenset({"POST"}), "/api/v1/agri/tasks", frozenset({R.region_statistician})),
    (MUTATING, "/api/v1/workflow/", frozenset(_REVIEWERS)),
    (MUTATING, "/api/v1/registry/", frozenset(_REVIEWERS | _COLLECTORS)),
    (frozenset({"POST"}), "/api/v1/registry/imports", frozenset({R.region_statistician,
                                                                  R.city_statistician,
                                                                  R.county_statistician})),
    (MUTATING, "/api/v1/population/", frozenset(_REVIEWERS | _COLLECTORS)),
    # 统计工作组织: the statistics offices record their own offices, staff, plans and reports
    (MUTATING, "/api/v1/organisation/", frozenset(_REVIEWERS)),
]

DATA_COLLECTION_ROLES = frozenset(_COLLECTORS)
"""Roles whose mutations are data collection (采集): they need the device certificate."""


def may_call(role: str, method: str, path: str) -> bool:
    """True if `role` may call `method path` at all (coarse; no jurisdiction here)."""
    method = method.upper()
    if role == R.subscriber.value:
        return False  # 订阅系统只读事件（Kafka 主题），不经 HTTP 读各服务的数据
    if method in READ_METHODS:
        return True
    if role == R.ops.value:
        return False  # 运维只读
    best: tuple[int, frozenset[Role]] | None = None
    for methods, prefix, roles in RULES:
        if method in methods and _under(path, prefix):
            if best is None or len(prefix) > best[0]:
                best = (len(prefix), roles)
    return best is not None and role in {r.value for r in best[1]}


def _under(path: str, prefix: str) -> bool:
    """Segment-wise prefix: /agri/tasks covers /agri/tasks and /agri/tasks/1, not /agri/tasks-x."""
    return path.startswith(prefix) and (prefix.endswith("/") or len(path) == len(prefix)
                                        or path[len(prefix)] == "/")


def is_data_collection(role: str, method: str) -> bool:
    return method.upper() in MUTATING and role in {r.value for r in DATA_COLLECTION_ROLES}
