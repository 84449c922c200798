"""SQL of the population read models. Every function takes the connection (its transaction)
and the schema. Person rows hold sealed identifying fields only."""
from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from typing import Any

import asyncpg


def _j(v: Any) -> str:
    return json.dumps(v, ensure_ascii=False, default=str)


def _load(v: Any) -> Any:
    return json.loads(v) if isinstance(v, str) else v


def _dict(row: asyncpg.Record | None, *json_cols: str) -> dict[str, Any] | None:
    if row is None:
        return None
    d = dict(row)
    for c in json_cols:
        if c in d:
            d[c] = _load(d[c])
    return d


# -- exams and certification ------------------------------------------------------------------
async def upsert_exam(conn, s: str, year: int, pass_mark: int, questions: list, version: int) -> None:
    await conn.execute(
        f"INSERT INTO {s}.exams (survey_year, pass_mark, questions, version) VALUES ($1,$2,$3,$4)"
        f" ON CONFLICT (survey_year) DO UPDATE SET pass_mark = $2, questions = $3, version = $4,"
        f" published_at = now()", year, pass_mark, _j(questions), version)


async def exam(conn, s: str, year: int) -> dict[str, Any] | None:
    return _dict(await conn.fetchrow(f"SELECT * FROM {s}.exams WHERE survey_year = $1", year),
                 "questions")


async def record_test(conn, s: str, user_id: str, username: str, year: int, score: int,
                      passed: bool) -> None:
    await conn.execute(
        f"INSERT INTO {s}.certifications (user_id, survey_year, username, best_score, passed)"
        f" VALUES ($1,$2,$3,$4,$5) ON CONFLICT (user_id, survey_year) DO UPDATE SET"
        f" best_score = GREATEST({s}.certifications.best_score, $4),"
        f" passed = {s}.certifications.passed OR $5, attempts = {s}.certifications.attempts + 1,"
        f" updated_at = now()", user_id, year, username, score, passed)


async def certification(conn, s: str, user_id: str, year: int) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"SELECT * FROM {s}.certifications WHERE user_id = $1 AND survey_year = $2", user_id, year)


# -- survey areas ------------------------------------------------------------------------------
async def insert_area(conn, s: str, d: dict[str, Any], version: int) -> None:
    await conn.execute(
        f"INSERT INTO {s}.areas (area_id, survey_year, area_code, village_code, name,"
        f" urban_rural_code, version) VALUES ($1,$2,$3,$4,$5,$6,$7) ON CONFLICT DO NOTHING",
        uuid.UUID(str(d["area_id"])), d["survey_year"], d["area_code"], d["village_code"],
        d["name"], d["urban_rural_code"], version)


async def area(conn, s: str, area_id: uuid.UUID, lock: bool = False,
               certified_user: str | None = None) -> dict[str, Any] | None:
    """The area with its enumerators; with `certified_user`, also `certified`: whether that
    user passed the area's survey-year test (the registration gate, in the same round trip)."""
    cert = (f", (SELECT passed FROM {s}.certifications c WHERE c.user_id = $2"
            f" AND c.survey_year = a.survey_year) AS certified" if certified_user else "")
    row = await conn.fetchrow(
        f"SELECT a.*, coalesce((SELECT array_agg(username ORDER BY username) FROM"
        f" {s}.area_enumerators e WHERE e.area_id = a.area_id), '{{}}') AS enumerators{cert}"
        f" FROM {s}.areas a WHERE a.area_id = $1" + (" FOR UPDATE OF a" if lock else ""),
        area_id, *([certified_user] if certified_user else []))
    return _dict(row, "buildings", "roster", "roster_reviews", "correction", "map")


async def areas_under(conn, s: str, prefix: str, year: int) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        f"SELECT a.*, coalesce((SELECT array_agg(username ORDER BY username) FROM"
        f" {s}.area_enumerators e WHERE e.area_id = a.area_id), '{{}}') AS enumerators,"
        f" (SELECT count(*) FROM {s}.households h WHERE h.area_id = a.area_id) AS households"
        f" FROM {s}.areas a WHERE a.village_code LIKE $1 AND a.survey_year = $2"
        f" ORDER BY a.area_code LIMIT 5000", prefix + "%", year)
    return [_dict(r, "buildings", "roster", "roster_reviews", "correction", "map") for r in rows]  # type: ignore[misc]


async def set_assignment(conn, s: str, area_id: uuid.UUID, username: str, assigned: bool) -> None:
    if assigned:
        await conn.execute(f"INSERT INTO {s}.area_enumerators VALUES ($1,$2) ON CONFLICT DO NOTHING",
                           area_id, username)
    else:
        await conn.execute(f"DELETE FROM {s}.area_enumerators WHERE area_id=$1 AND username=$2",
                           area_id, username)


async def add_roster_review(conn, s: str, area_id: uuid.UUID, review: dict[str, Any],
                            version: int) -> None:
    await conn.execute(f"UPDATE {s}.areas SET roster_reviews = roster_reviews || $2::jsonb,"
                       f" version = $3 WHERE area_id = $1", area_id, _j([review]), version)


async def update_area(conn, s: str, area_id: uuid.UUID, **cols: Any) -> None:
    names = list(cols)
    values = [_j(v) if isinstance(v, (list, dict)) else v for v in cols.values()]
    sets = ", ".join(f"{n} = ${i + 2}" for i, n in enumerate(names))
    await conn.execute(f"UPDATE {s}.areas SET {sets} WHERE area_id = $1", area_id, *values)


async def copy_roster(conn, s: str, area_id: uuid.UUID, event_id: uuid.UUID, version: int) -> None:
    """The area's roster set to the lines of the stored roster.saved `event_id` (a rebuild; an
    event not found gives NULL, which the column refuses)."""
    await conn.execute(
        f"UPDATE {s}.areas SET roster = (SELECT e.data->'entries' FROM {s}.events e"
        f" WHERE e.id = $2), version = $3 WHERE area_id = $1", area_id, event_id, version)


# -- households and persons --------------------------------------------------------------------
_HH_JSON = ("readback", "household", "findings", "field_notes")


async def household(conn, s: str, household_id: uuid.UUID, lock: bool = False,
                    with_area_name: bool = False) -> dict[str, Any] | None:
    """The household row; `with_area_name` adds its area's name (`area_name`) in the same
    round trip."""
    if with_area_name:
        q = (f"SELECT h.*, a.name AS area_name FROM {s}.households h JOIN {s}.areas a"
             f" ON a.area_id = h.area_id WHERE h.household_id = $1"
             + (" FOR UPDATE OF h" if lock else ""))
    else:
        q = (f"SELECT * FROM {s}.households WHERE household_id = $1"
             + (" FOR UPDATE" if lock else ""))
    return _dict(await conn.fetchrow(q, household_id), *_HH_JSON)


async def upsert_household(conn, s: str, d: dict[str, Any], version: int,
                           findings: list) -> dict[str, Any]:
    """The household row and its person rows for a saved draft, in one round trip; the row as
    it is afterwards (what the projection folds the draft onto)."""
    ids = [uuid.UUID(str(p["person_id"])) for p in d["persons"]]
    row = await conn.fetchrow(
        f"WITH hh AS (INSERT INTO {s}.households (household_id, area_id, area_code, village_code,"
        f" survey_year, household_no, form_version, enumerator, version, draft_version,"
        f" household, findings, person_count)"
        f" VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$9,$10,$11,$12)"
        f" ON CONFLICT (household_id) DO UPDATE SET form_version = $7, version = $9,"
        f" draft_version = $9, household = $10, findings = $11, person_count = $12,"
        f" updated_at = now() RETURNING *),"
        # the household's current persons: others leave (erased persons keep their row)
        f" gone AS (DELETE FROM {s}.persons WHERE household_id = $1 AND erased_at IS NULL"
        f" AND NOT (person_id = ANY($13::uuid[]))),"
        f" ps AS (INSERT INTO {s}.persons (person_id, household_id, position, fields, sex,"
        f" age_band) SELECT u.pid, (SELECT household_id FROM hh), u.pos, u.f, u.sex, u.band"
        f" FROM unnest($13::uuid[], $14::jsonb[], $15::text[], $16::text[], $17::int[])"
        f" AS u(pid, f, sex, band, pos)"
        f" ON CONFLICT (person_id) DO UPDATE SET position = excluded.position,"
        f" fields = CASE WHEN {s}.persons.erased_at IS NULL THEN excluded.fields"
        f" ELSE {s}.persons.fields END, sex = excluded.sex, age_band = excluded.age_band)"
        f" SELECT * FROM hh",
        uuid.UUID(str(d["household_id"])), uuid.UUID(str(d["area_id"])), d["area_code"],
        d["village_code"], d["survey_year"],
        d.get("household_no") or d["household"].get("household_no", ""),
        d["form_version"], d["enumerator"], version, _j(d["household"]), _j(findings),
        len(d["persons"]), ids, [_j(p["fields"]) for p in d["persons"]],
        [p["fields"].get("sex") for p in d["persons"]], [p.get("age_band") for p in d["persons"]],
        [p.get("position", i) for i, p in enumerate(d["persons"])])
    return _dict(row, *_HH_JSON)  # type: ignore[return-value]


async def persons_with_keys(conn, s: str, household_id: uuid.UUID) -> list[dict[str, Any]]:
    """Person rows and their wrapped keys in one round trip (a household read)."""
    rows = await conn.fetch(
        f"SELECT p.person_id, p.position, p.fields, p.sex, p.age_band, p.erased_at,"
        f" k.wrapped_key, k.key_version, k.destroyed_at"
        f" FROM {s}.persons p LEFT JOIN {s}.person_keys k ON k.person_id = p.person_id::text"
        f" WHERE p.household_id = $1 ORDER BY p.position", household_id)
    return [_dict(r, "fields") for r in rows]  # type: ignore[misc]


async def person(conn, s: str, person_id: uuid.UUID) -> dict[str, Any] | None:
    return _dict(await conn.fetchrow(f"SELECT * FROM {s}.persons WHERE person_id = $1",
                                     person_id), "fields")


async def mark_erased(conn, s: str, person_id: uuid.UUID, reason_code: str,
                      identifying: Sequence[str]) -> None:
    """Drop the (sealed) identifying fields from the row too; codes and counts stay."""
    await conn.execute(
        f"UPDATE {s}.persons SET erased_at = now(), erasure_reason = $2,"
        f" fields = fields - $3::text[] WHERE person_id = $1", person_id, reason_code,
        list(identifying))


async def update_household(conn, s: str, household_id: uuid.UUID, **cols: Any) -> None:
    names = list(cols)
    values = [_j(v) if isinstance(v, (dict, list)) else v for v in cols.values()]
    sets = ", ".join(f"{n} = ${i + 2}" for i, n in enumerate(names))
    await conn.execute(f"UPDATE {s}.households SET {sets}, updated_at = now()"
                       f" WHERE household_id = $1", household_id, *values)


async def households_under(conn, s: str, prefix: str, *, enumerator: str | None = None,
                           area_id: uuid.UUID | None = None, limit: int = 500,
                           offset: int = 0) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        f"SELECT household_id, area_id, area_code, village_code, survey_year, household_no,"
        f" enumerator, stage, status, version, revision, person_count, review_level, case_id,"
        f" updated_at FROM {s}.households WHERE village_code LIKE $1"
        f" AND ($2::text IS NULL OR enumerator = $2) AND ($3::uuid IS NULL OR area_id = $3)"
        f" ORDER BY area_code, household_no LIMIT $4 OFFSET $5",
        prefix + "%", enumerator, area_id, limit, offset)
    return [dict(r) for r in rows]


# -- access audit ----------------------------------------------------------------------------
def _opt_uuid(v: Any) -> uuid.UUID | None:
    return uuid.UUID(str(v)) if v else None


async def insert_access(conn, s: str, event_id: uuid.UUID, at: Any, d: dict[str, Any],
                        reader_name: str | None, village_code: str) -> None:
    await conn.execute(
        f"INSERT INTO {s}.access_log (event_id, at, reader, reader_name, reader_role,"
        f" reader_division, device, household_id, village_code, person_ids, purpose, reason_code,"
        f" area_id) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13) ON CONFLICT DO NOTHING",
        event_id, at, d["reader"], reader_name, d["reader_role"], d["reader_division"],
        d.get("device"), _opt_uuid(d.get("household_id")), village_code,
        _j([str(p) for p in d["person_ids"]]), d["purpose"], d.get("reason_code"),
        _opt_uuid(d.get("area_id")))


async def access_log(conn, s: str, prefix: str, limit: int, offset: int,
                     household_id: uuid.UUID | None = None) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        f"SELECT * FROM {s}.access_log WHERE village_code LIKE $1"
        f" AND ($4::uuid IS NULL OR household_id = $4) ORDER BY at DESC LIMIT $2 OFFSET $3",
        prefix + "%", limit, offset, household_id)
    return [_dict(r, "person_ids") for r in rows]  # type: ignore[misc]
