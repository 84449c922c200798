"""Who may create which account (账号管理规则) — pure rules, no I/O."""
from __future__ import annotations

from gx_contracts.divisions import Level, contains, is_valid_code, level_of, prefix_of
from gx_contracts.roles import LEVEL_OF_ROLE, Role
from gx_kernel.errors import AppError, Forbidden

# A county creates only these, inside its own county (下级账号).
COUNTY_MAY_CREATE = frozenset({Role.township_statistician, Role.village_coordinator,
                               Role.grid_worker})
MIN_PASSWORD_LEN = 8


def check_new_user(creator_role: str, creator_division: str, role: str, division: str) -> None:
    """Raise unless a user with (creator_role, creator_division) may create (role, division)."""
    if creator_role not in (Role.region_statistician.value, Role.county_statistician.value):
        raise Forbidden("只有自治区统计局或县统计局可以创建账号", code="user_create_forbidden")
    target = _role(role)
    if not is_valid_code(division):
        raise AppError(422, "division_invalid", "区划代码（division）必须是12位统计用区划代码",
                       field="division")
    want = LEVEL_OF_ROLE.get(target, Level.region)  # subscriber/ops work at region level
    if level_of(division) != want:
        raise AppError(422, "division_level_mismatch",
                       f"区划代码（division）的层级应为{want.label_zh}级，与角色不符", field="division")
    if creator_role == Role.region_statistician.value:
        if not contains(prefix_of(creator_division), division):
            raise Forbidden("区划代码（division）不在本级管辖范围内", code="outside_jurisdiction")
        return
    if target not in COUNTY_MAY_CREATE:
        raise Forbidden("县统计局只能创建乡镇统计员、村级统计协管员和网格员账号（role）",
                        code="role_above_creator")
    if not contains(prefix_of(creator_division), division):
        raise Forbidden("区划代码（division）不在本县管辖范围内", code="outside_jurisdiction")


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LEN or password.isdigit() or password.isalpha():
        raise AppError(422, "password_weak",
                       f"密码（password）至少{MIN_PASSWORD_LEN}位，且须同时包含字母和数字或符号",
                       field="password")


def _role(role: str) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise AppError(422, "role_invalid", f"角色（role）取值不在允许范围内：{role}",
                       field="role") from None
