"""任务底册 rules (pure): who holds a task, where push-down, transfer-out and return take it."""
from __future__ import annotations

from uuid import UUID, uuid5

from gx_contracts.divisions import Level, ancestor_at, level_of

LEVELS_DOWN = (Level.region, Level.city, Level.county, Level.township, Level.village)
KIND_ZH = {"new_unit_search": "新增单位查找", "field_verification": "实地核实"}


class TaskRuleError(ValueError):
    def __init__(self, code: str, message_zh: str):
        super().__init__(message_zh)
        self.code = code


def task_id_for(unit_id: UUID, kind: str, origin: str) -> UUID:
    """One task per unit, kind and origin (the department batch, or the audit)."""
    return uuid5(unit_id, f"{kind}:{origin}")


def push_target(holder: str, placed: str, to_level: Level) -> str | None:
    """Where a push-down from `holder` to `to_level` takes a task placed at `placed`
    (None: the address placed it no deeper than the holder; it stays for people to place)."""
    if level_of(placed).rank > to_level.rank:
        return None  # not placed as deep as the target level
    target = ancestor_at(placed, to_level)
    if not target.startswith(holder[: level_of(holder).prefix_len]) or target == holder:
        return None
    return target


def check_push_level(holder: str, to_level: Level) -> None:
    if to_level.rank >= level_of(holder).rank:
        raise TaskRuleError("push_level", f"只能下划到比本级（{level_of(holder).label_zh}）更低的层级")


def level_above(holder: str) -> str:
    """The division one level up (返回上一级); the region has none."""
    own = level_of(holder)
    if own == Level.region:
        raise TaskRuleError("no_level_above", "自治区已是最高一级，不能返回上一级")
    for lv in LEVELS_DOWN[LEVELS_DOWN.index(own) - 1::-1]:
        up = ancestor_at(holder, lv)
        if up != holder:
            return up
    raise TaskRuleError("no_level_above", "没有上一级")  # pragma: no cover


def transfer_holder(to_division: str) -> str:
    """A unit transferred out lands in its new county's list (or higher, if the code is)."""
    lv = level_of(to_division)
    return ancestor_at(to_division, Level.county) if lv.rank <= Level.county.rank else to_division
