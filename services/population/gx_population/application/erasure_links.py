"""Erasing a person also erases every other record that names them: their roster line, the
change reports and the post-enumeration check persons (domain.erasure_links decides which).
Each such record's key is destroyed and `population.personal_record.erased` appended on the
record's own stream (area, ledger, PES sample), in the erasure's transaction."""
from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gx_contracts.events.base import event_fields
from gx_contracts.events.population import PersonalRecordErased
from gx_contracts.ids import stream_id
from gx_kernel.eventstore import NewEvent
from gx_kernel.uow import UnitOfWork

from gx_population.application.access import NS
from gx_population.domain.erasure_links import is_head, names_person
from gx_population.privacy.cipher import PersonCipher


@dataclass(frozen=True)
class Linked:
    kind: str  # roster_entry | change_report | pes_check
    record_id: str
    stream: str
    sample_id: str | None = None


async def _opened(c: PersonCipher, records: Mapping[str, Mapping[str, Any]]) -> dict[str, dict]:
    """Open the records whose key still exists (erased ones are gone already)."""
    keys = await c.store.get_many(list(records))
    live = {rid: rec for rid, rec in records.items()
            if rid in keys and not keys[rid].destroyed}
    return c.open_loaded(live, {rid: keys[rid] for rid in live}) if live else {}


async def find(conn: Any, s: str, c: PersonCipher, household: Mapping[str, Any],
               persons: Sequence[Mapping[str, Any]]) -> list[Linked]:
    """The records naming any of the (opened) persons."""
    area_id, village = household["area_id"], household["village_code"]
    found: list[Linked] = []
    roster = await conn.fetchval(f"SELECT roster FROM {s}.areas WHERE area_id = $1", area_id)
    roster = _json(roster) or []
    heads = [p for p in persons if is_head(p)]
    if heads and roster:
        names = await _opened(c, {e["entry_id"]: {"name": e["head_name"]} for e in roster
                                  if e.get("head_name")})
        for rid, rec in names.items():
            if any(names_person(rec, {"name": h.get("name")}) for h in heads):
                found.append(Linked("roster_entry", rid, stream_id("area", area_id)))
    rows = await conn.fetch(f"SELECT change_id, person FROM {s}.ledger_changes"
                            f" WHERE village_code = $1", village)
    changes = await _opened(c, {str(r["change_id"]): _json(r["person"])["fields"] for r in rows})
    ledger = stream_id("ledger", uuid.uuid5(NS, f"ledger:{village}"))
    found += [Linked("change_report", rid, ledger) for rid, rec in changes.items()
              if any(names_person(rec, p) for p in persons)]
    rows = await conn.fetch(f"SELECT check_id, sample_id, fields FROM {s}.pes_checks"
                            f" WHERE area_id = $1", area_id)
    samples = {str(r["check_id"]): str(r["sample_id"]) for r in rows}
    checks = await _opened(c, {str(r["check_id"]): _json(r["fields"]) for r in rows})
    found += [Linked("pes_check", rid, stream_id("pes", uuid.UUID(samples[rid])), samples[rid])
              for rid, rec in checks.items() if any(names_person(rec, p) for p in persons)]
    return found


async def erase(uow: UnitOfWork, c: PersonCipher, linked: Sequence[Linked],
                household: Mapping[str, Any], person_id: uuid.UUID, reason_code: str,
                erased_by: str, meta: dict[str, Any]) -> None:
    for link in linked:
        await c.erase(link.record_id)
        event = PersonalRecordErased(
            record_kind=link.kind,  # type: ignore[arg-type]
            record_id=uuid.UUID(link.record_id), household_id=household["household_id"],
            person_id=person_id, area_id=household["area_id"],
            sample_id=uuid.UUID(link.sample_id) if link.sample_id else None,
            village_code=household["village_code"], reason_code=reason_code,
            erased_by=erased_by)
        uow.collect(link.stream, None, [NewEvent(**event_fields(event))], meta)


def _json(v: Any) -> Any:
    import json
    return json.loads(v) if isinstance(v, str) else v

