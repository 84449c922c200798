"""Roles (角色), the level each one works at, and the demo accounts."""

from __future__ import annotations

from enum import Enum

from .divisions import Level

__all__ = ["Role", "REVIEWER_ROLE_FOR_LEVEL", "LEVEL_OF_ROLE", "DEMO_PASSWORD", "DEMO_USERS"]


class Role(str, Enum):
    """角色."""

    region_statistician = "region_statistician"
    city_statistician = "city_statistician"
    county_statistician = "county_statistician"
    township_statistician = "township_statistician"
    village_coordinator = "village_coordinator"
    grid_worker = "grid_worker"
    subscriber = "subscriber"
    ops = "ops"

    @property
    def label_zh(self) -> str:
        return _LABELS[self]


_LABELS = {
    Role.region_statistician: "自治区统计局",
    Role.city_statistician: "市统计局",
    Role.county_statistician: "县统计局",
    Role.township_statistician: "乡镇统计员",
    Role.village_coordinator: "村级统计协管员",
    Role.grid_worker: "网格员",
    Role.subscriber: "其他系统",
    Role.ops: "运维",
}

REVIEWER_ROLE_FOR_LEVEL: dict[Level, Role] = {
    Level.township: Role.township_statistician,
    Level.county: Role.county_statistician,
    Level.city: Role.city_statistician,
    Level.region: Role.region_statistician,
}
"""审核角色：who reviews a case sitting at a level of the chain."""

LEVEL_OF_ROLE: dict[Role, Level] = {
    Role.region_statistician: Level.region,
    Role.city_statistician: Level.city,
    Role.county_statistician: Level.county,
    Role.township_statistician: Level.township,
    Role.village_coordinator: Level.village,
    Role.grid_worker: Level.village,  # a grid lies inside a village
}
"""Level of the jurisdiction a role works at. ``subscriber`` and ``ops`` take no part in the
chain and are deliberately absent (use ``LEVEL_OF_ROLE.get(role)``)."""

DEMO_PASSWORD = "Demo@2026"

DEMO_USERS: list[dict[str, str]] = [
    {"username": "qu_tongji", "name_zh": "韦秀梅", "role": Role.region_statistician.value, "division": "450000000000"},
    {"username": "nanning_shi", "name_zh": "黄志强", "role": Role.city_statistician.value, "division": "450100000000"},
    {"username": "qingxiu_qu", "name_zh": "覃丽华", "role": Role.county_statistician.value, "division": "450103000000"},
    {"username": "changtang_zhen", "name_zh": "陆建国", "role": Role.township_statistician.value, "division": "450103103000"},  # noqa: E501
    {"username": "liuxu_zhen", "name_zh": "蒙海燕", "role": Role.township_statistician.value, "division": "450103100000"},  # noqa: E501
    {"username": "tiantang_cun", "name_zh": "黄春兰", "role": Role.village_coordinator.value, "division": "450103103201"},  # noqa: E501
    {"username": "dingxi_cun", "name_zh": "莫振华", "role": Role.village_coordinator.value, "division": "450103103202"},
    {"username": "tiantang_wangge", "name_zh": "卢小燕", "role": Role.grid_worker.value, "division": "450103103201"},
    {"username": "sheng_xitong", "name_zh": "省级订阅系统", "role": Role.subscriber.value, "division": "450000000000"},
    {"username": "yunwei", "name_zh": "梁文斌", "role": Role.ops.value, "division": "450000000000"},
]
"""演示账号 (all with ``DEMO_PASSWORD``); ``name_zh`` is the person's 姓名 (the subscriber, a system,
keeps its title); ``role`` is the ``Role`` value, ``division`` a 12-digit code."""
