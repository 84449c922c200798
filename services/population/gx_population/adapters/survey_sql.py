"""SQL of the ledger, re-check and post-enumeration check read models."""
from __future__ import annotations

import json
import uuid
from typing import Any

import asyncpg


def _j(v: Any) -> str:
    return json.dumps(v, ensure_ascii=False, default=str)


def _load(v: Any) -> Any:
    return json.loads(v) if isinstance(v, str) else v


async def insert_change(conn: Any, s: str, d: dict[str, Any], by: str | None, at: Any) -> None:
    await conn.execute(
        f"INSERT INTO {s}.ledger_changes (change_id, village_code, month, kind, date, sex, person,"
        f" reported_by, at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9) ON CONFLICT DO NOTHING",
        uuid.UUID(str(d["change_id"])), d["village_code"], d["month"], d["kind"], d["date"],
        d["person"]["fields"].get("sex"), _j(d["person"]), by, at)


async def insert_adjustment(conn: Any, s: str, d: dict[str, Any], by: str | None, at: Any) -> None:
    await conn.execute(
        f"INSERT INTO {s}.ledger_adjustments (adjustment_id, village_code, month, indicator,"
        f" delta, reason, by_name, at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8) ON CONFLICT DO NOTHING",
        uuid.UUID(str(d["adjustment_id"])), d["village_code"], d["month"], d["indicator"],
        d["delta"], d["reason"], by, at)


async def change_counts(conn: Any, s: str, prefix: str, last: str) -> list[asyncpg.Record]:
    return list(await conn.fetch(
        f"SELECT village_code, month, kind, count(*)::int AS n FROM {s}.ledger_changes"
        f" WHERE village_code LIKE $1 AND month <= $2 GROUP BY 1, 2, 3", prefix + "%", last))


async def adjustment_sums(conn: Any, s: str, prefix: str, last: str) -> list[asyncpg.Record]:
    return list(await conn.fetch(
        f"SELECT village_code, month, indicator, sum(delta)::int AS n FROM {s}.ledger_adjustments"
        f" WHERE village_code LIKE $1 AND month <= $2 GROUP BY 1, 2, 3", prefix + "%", last))


async def first_month(conn: Any, s: str, prefix: str) -> str | None:
    v = await conn.fetchval(
        f"SELECT min(m) FROM (SELECT min(month) m FROM {s}.ledger_changes WHERE village_code"
        f" LIKE $1 UNION ALL SELECT min(month) FROM {s}.ledger_adjustments WHERE village_code"
        f" LIKE $1) x", prefix + "%")
    return str(v) if v else None


async def changes_of(conn: Any, s: str, village: str, month: str) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        f"SELECT change_id, kind, date, sex, at FROM {s}.ledger_changes WHERE village_code = $1"
        f" AND month = $2 ORDER BY date, at", village, month)
    return [dict(r) for r in rows]


async def adjustments_of(conn: Any, s: str, village: str, month: str) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        f"SELECT adjustment_id, indicator, delta, reason, by_name, at FROM {s}.ledger_adjustments"
        f" WHERE village_code = $1 AND month = $2 ORDER BY at", village, month)
    return [dict(r) for r in rows]


# -- re-check ---------------------------------------------------------------------------------
async def upsert_admin(conn: Any, s: str, d: dict[str, Any], at: Any) -> None:
    await conn.execute(
        f"INSERT INTO {s}.admin_figures VALUES ($1,$2,$3,$4,$5,$6,$7) ON CONFLICT (area_id) DO"
        f" UPDATE SET households=$2, persons=$3, births=$4, deaths=$5, source=$6, at=$7",
        uuid.UUID(str(d["area_id"])), d["households"], d["persons"], d["births"], d["deaths"],
        d["source"], at)


async def admin(conn: Any, s: str, area_id: uuid.UUID) -> dict[str, Any] | None:
    r = await conn.fetchrow(f"SELECT * FROM {s}.admin_figures WHERE area_id = $1", area_id)
    return dict(r) if r else None


async def upsert_note(conn: Any, s: str, d: dict[str, Any], by: str | None, at: Any) -> None:
    await conn.execute(
        f"INSERT INTO {s}.discrepancy_notes VALUES ($1,$2,$3,$4,$5,$6) ON CONFLICT"
        f" (area_id, indicator) DO UPDATE SET explanation=$3, corrected=$4, by_name=$5, at=$6",
        uuid.UUID(str(d["area_id"])), d["indicator"], d["explanation"], d["corrected"], by, at)


async def notes(conn: Any, s: str, area_id: uuid.UUID) -> dict[str, dict[str, Any]]:
    rows = await conn.fetch(f"SELECT * FROM {s}.discrepancy_notes WHERE area_id = $1", area_id)
    return {r["indicator"]: dict(r) for r in rows}


async def registered_figures(conn: Any, s: str, area_id: uuid.UUID) -> dict[str, int]:
    """What was registered in the area: households handed in (or further), their persons,
    and the births and deaths of the past year their forms report."""
    r = await conn.fetchrow(
        f"SELECT count(*)::int AS households, coalesce(sum(person_count), 0)::int AS persons,"
        f" coalesce(sum(coalesce((household->>'births_male')::int, 0)"
        f" + coalesce((household->>'births_female')::int, 0)), 0)::int AS births,"
        f" coalesce(sum(coalesce((household->>'deaths_male')::int, 0)"
        f" + coalesce((household->>'deaths_female')::int, 0)), 0)::int AS deaths"
        f" FROM {s}.households WHERE area_id = $1 AND (stage <> 'registering' OR revision > 0)",
        area_id)
    return dict(r)


# -- post-enumeration check --------------------------------------------------------------------
async def insert_sample(conn: Any, s: str, d: dict[str, Any], at: Any) -> None:
    await conn.execute(f"INSERT INTO {s}.pes_samples VALUES ($1,$2,$3,$4,$5,$6) ON CONFLICT DO"
                       f" NOTHING", uuid.UUID(str(d["sample_id"])), d["survey_year"], d["seed"],
                       d["frame_size"], _j(d["area_codes"]), at)


async def sample(conn: Any, s: str, sample_id: uuid.UUID) -> dict[str, Any] | None:
    r = await conn.fetchrow(f"SELECT * FROM {s}.pes_samples WHERE sample_id = $1", sample_id)
    if r is None:
        return None
    d = dict(r)
    d["area_codes"] = _load(d["area_codes"])
    return d


async def set_team(conn: Any, s: str, d: dict[str, Any]) -> None:
    await conn.execute(f"INSERT INTO {s}.pes_teams VALUES ($1,$2,$3) ON CONFLICT (sample_id,"
                       f" area_id) DO UPDATE SET usernames = $3", uuid.UUID(str(d["sample_id"])),
                       uuid.UUID(str(d["area_id"])), _j(d["usernames"]))


async def team(conn: Any, s: str, sample_id: uuid.UUID, area_id: uuid.UUID) -> list[str]:
    v = await conn.fetchval(f"SELECT usernames FROM {s}.pes_teams WHERE sample_id=$1 AND"
                            f" area_id=$2", sample_id, area_id)
    return list(_load(v)) if v else []


async def insert_checks(conn: Any, s: str, d: dict[str, Any]) -> None:
    await conn.executemany(
        f"INSERT INTO {s}.pes_checks VALUES ($1,$2,$3,$4) ON CONFLICT DO NOTHING",
        [(uuid.UUID(str(p["person_id"])), uuid.UUID(str(d["sample_id"])),
          uuid.UUID(str(d["area_id"])), _j(p["fields"])) for p in d["persons"]])


async def checks_with_keys(conn: Any, s: str, sample_id: uuid.UUID,
                           area_id: uuid.UUID) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        f"SELECT c.check_id AS person_id, c.fields, k.wrapped_key, k.key_version, k.destroyed_at"
        f" FROM {s}.pes_checks c LEFT JOIN {s}.person_keys k ON k.person_id = c.check_id::text"
        f" WHERE c.sample_id = $1 AND c.area_id = $2", sample_id, area_id)
    return [{**dict(r), "fields": _load(r["fields"])} for r in rows]


async def area_persons_with_keys(conn: Any, s: str, area_id: uuid.UUID) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        f"SELECT p.person_id, p.fields, p.erased_at, k.wrapped_key, k.key_version, k.destroyed_at"
        f" FROM {s}.persons p JOIN {s}.households h USING (household_id)"
        f" LEFT JOIN {s}.person_keys k ON k.person_id = p.person_id::text"
        f" WHERE h.area_id = $1 AND (h.stage <> 'registering' OR h.revision > 0)", area_id)
    return [{**dict(r), "fields": _load(r["fields"])} for r in rows]


async def upsert_result(conn: Any, s: str, d: dict[str, Any], at: Any) -> None:
    await conn.execute(
        f"INSERT INTO {s}.pes_results VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13)"
        f" ON CONFLICT (sample_id, area_id) DO UPDATE SET decisions=$4, duplicates=$5,"
        f" insufficient=$6, erroneous=$7, c=$8, ii=$9, ce=$10, p=$11, m=$12, at=$13",
        uuid.UUID(str(d["sample_id"])), uuid.UUID(str(d["area_id"])), d["area_code"],
        _j(d["decisions"]), _j(d["duplicates"]), _j(d["insufficient"]), _j(d["erroneous"]),
        d["C"], d["II"], d["CE"], d["P"], d["M"], at)


async def results(conn: Any, s: str, sample_id: uuid.UUID) -> list[dict[str, Any]]:
    rows = await conn.fetch(f"SELECT * FROM {s}.pes_results WHERE sample_id = $1"
                            f" ORDER BY area_code", sample_id)
    return [{**dict(r), "decisions": _load(r["decisions"])} for r in rows]
