"""The demo accounts as people: each keeps its username, role and division (from the contracts)
and gets a person's 姓名 (Zhuang-region surnames), so history reads 韦秀梅（自治区统计局 · …）."""
from __future__ import annotations

from gx_contracts.roles import DEMO_USERS

# username -> 姓名. The subscriber is a system, not a person: it keeps its title.
PERSON_NAMES = {
    "qu_tongji": "韦秀梅", "nanning_shi": "黄志强", "qingxiu_qu": "覃丽华",
    "changtang_zhen": "陆建国", "liuxu_zhen": "蒙海燕", "tiantang_cun": "黄春兰",
    "dingxi_cun": "莫振华", "tiantang_wangge": "卢小燕", "yunwei": "梁文斌",
    # 长塘镇's further coordinators (created by the devstack's demo loader)
    "dongjiang_cun": "韦光明", "fengmu_cun": "覃美玲", "nazeng_cun": "蓝海涛",
    "changda_cun": "廖秋菊",
}


def person_name(username: str, fallback: str) -> str:
    return PERSON_NAMES.get(username, fallback)


def demo_users() -> list[dict[str, str]]:
    """DEMO_USERS with each person's 姓名 as name_zh."""
    return [{**u, "name_zh": person_name(u["username"], u["name_zh"])} for u in DEMO_USERS]
