"""Set-based task-list moves (one statement for a whole push-down)."""
from __future__ import annotations

import uuid

from gx_contracts.divisions import Level, level_of

_SEGMENT = {Level.city: (3, 2), Level.county: (5, 2), Level.township: (7, 3),
            Level.village: (10, 3)}


def _target_sql(to_level: Level) -> str:
    n = to_level.prefix_len
    return f"rpad(left(placed_code, {n}), 12, '0')"


async def push_down(conn, s: str, holder: str, to_level: str, task_ids: list[uuid.UUID],
                    kind: str | None) -> int:
    """Move the holder's tasks placed at or below `to_level` to their division at that level."""
    lv = Level(to_level)
    start, length = _SEGMENT[lv]
    prefix = holder[: level_of(holder).prefix_len]
    sql = (f"UPDATE {s}.tasks SET holder_code = {_target_sql(lv)}, holder_level = $2, "
           f"grid_id = NULL WHERE holder_code = $1 AND left(placed_code, $3) = $4 "
           f"AND substr(placed_code, {start}, {length}) <> repeat('0', {length}) "
           f"AND status = 'open'")
    args: list = [holder, lv.value, len(prefix), prefix]
    if task_ids:
        args.append(task_ids)
        sql += f" AND task_id = ANY(${len(args)})"
    if kind:
        args.append(kind)
        sql += f" AND kind = ${len(args)}"
    result = await conn.execute(sql, *args)
    return int(result.split()[-1])


async def count_pushable(conn, s: str, holder: str, to_level: str, task_ids: list[uuid.UUID],
                         kind: str | None) -> int:
    lv = Level(to_level)
    start, length = _SEGMENT[lv]
    prefix = holder[: level_of(holder).prefix_len]
    sql = (f"SELECT count(*) FROM {s}.tasks WHERE holder_code = $1 AND left(placed_code, $2) = $3"
           f" AND substr(placed_code, {start}, {length}) <> repeat('0', {length}) "
           f"AND status = 'open'")
    args: list = [holder, len(prefix), prefix]
    if task_ids:
        args.append(task_ids)
        sql += f" AND task_id = ANY(${len(args)})"
    if kind:
        args.append(kind)
        sql += f" AND kind = ${len(args)}"
    return int(await conn.fetchval(sql, *args))
