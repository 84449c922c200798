"""The `areas` rows during a rebuild: an area's common events folded in memory, each row
written once.

The live projection writes the area row per event (INSERT at import, then one UPDATE per
assignment, verification and roster: a roster of 60 sealed lines rewritten each time). A
rebuild passes every event once, in order, into tables it truncated; here the area's import,
assignments, verification and rosters are folded into a kept row (`fold`) and the rows go in
at once (`flush`: one INSERT … SELECT FROM unnest, ON CONFLICT DO NOTHING as the import's,
then the enumerators). A rebuild from PostgreSQL reads a saved roster without its lines
(`ROSTER_READ`: ~15 KB of JSON per roster, most of the replay's bytes): whichever path writes
the roster copies the lines from the event's row inside the database (`ROSTER_OF`), never
through this process; the events must be in the read models' schema, as every rebuild has
them. (A rebuild from another store gets the lines as they are.)
Any other event of a kept area (roster review, correction, map, erasure) first writes that
area's row and then runs the live projector on it; household events (their rows reference
`areas`) and the rebuild's end write every kept row. Past `KEEP_AREAS` rows the kept ones
are written and forgotten; a later event of such an area takes the live path, as does any
event of an area whose import this rebuild did not fold.
"""
from __future__ import annotations

import json
import uuid
from typing import Any

import orjson

from gx_contracts.events.population import AreaAssigned, AreaImported, AreaVerified, RosterSaved
from gx_kernel.eventstore import StoredEvent
from gx_kernel.projections import rebuild_scratch

# a rebuild's read of population.roster.saved: its area (that of its stream, area-<uuid>: the
# stored data is not even decompressed) and its row, for the lines; projectors read no more
ROSTER_READ = "jsonb_build_object('area_id', substr(stream_id, 6), 'entries_of', id)"
ROSTER_OF = "entries_of"

KEEP_AREAS = 50_000  # a bound on the rebuild's memory (~15 KB per kept roster from a memory store)

# the row's columns, in the INSERT's order, with their SQL types
_COLUMNS = (("area_id", "uuid"), ("survey_year", "int"), ("area_code", "text"),
            ("village_code", "text"), ("name", "text"), ("urban_rural_code", "text"),
            ("verified", "bool"), ("boundary", "text"), ("buildings", "jsonb"),
            ("verified_name", "text"), ("verified_urban_rural_code", "text"),
            ("corrected", "bool"), ("version", "int"), ("roster", "jsonb"))
_JSON = frozenset(name for name, kind in _COLUMNS if kind == "jsonb")
FOLDED = frozenset(m.EVENT_TYPE for m in (  # type: ignore[attr-defined]
    AreaImported, AreaAssigned, AreaVerified, RosterSaved))


class Kept:
    """An area as folded so far: its row's columns and its enumerators (in order)."""

    __slots__ = ("row", "enumerators")

    def __init__(self, row: dict[str, Any]) -> None:
        self.row = row
        self.enumerators: dict[str, None] = {}


class Areas:
    """A rebuild's kept areas, and the ids of those written already (their events: live)."""

    __slots__ = ("kept", "written")

    def __init__(self) -> None:
        self.kept: dict[uuid.UUID, Kept] = {}
        self.written: set[uuid.UUID] = set()


def kept_areas(s: str) -> Areas | None:
    """The areas kept by the rebuild under way (None: a live unit of work)."""
    scratch = rebuild_scratch(f"gx_population.areas:{s}")
    if scratch is None:
        return None
    areas: Areas = scratch.setdefault("areas", Areas())
    return areas


def area_id_of(e: StoredEvent) -> uuid.UUID | None:
    value = e.data.get("area_id")
    if value is None:
        return None
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def fold(areas: Areas, area_id: uuid.UUID, e: StoredEvent) -> bool:
    """Fold `e` onto its kept area; False when it must take the live path."""
    d = e.data
    if e.type == AreaImported.EVENT_TYPE:
        if area_id in areas.kept or area_id in areas.written:
            return False  # imported again: the live INSERT's ON CONFLICT decides
        areas.kept[area_id] = Kept({
            "area_id": area_id, "survey_year": d["survey_year"], "area_code": d["area_code"],
            "village_code": d["village_code"], "name": d["name"],
            "urban_rural_code": d["urban_rural_code"], "verified": False, "boundary": None,
            "buildings": None, "verified_name": None, "verified_urban_rural_code": None,
            "corrected": False, "version": e.version, "roster": [], "roster_of": None})
        return True
    k = areas.kept.get(area_id)
    if k is None or e.type not in FOLDED:
        return False
    row = k.row
    if e.type == AreaAssigned.EVENT_TYPE:
        if d["assigned"]:
            k.enumerators[d["username"]] = None
        else:
            k.enumerators.pop(d["username"], None)
    elif e.type == AreaVerified.EVENT_TYPE:
        row.update(verified=True, boundary=d["boundary"], buildings=d["buildings"],
                   verified_name=d["name"], verified_urban_rural_code=d["urban_rural_code"],
                   corrected=d["corrected"])
    elif ROSTER_OF in d:  # RosterSaved, read without its lines: copied from its row at flush
        row["roster_of"] = uuid.UUID(d[ROSTER_OF])
    else:  # RosterSaved
        row.update(roster=d["entries"], roster_of=None)
    row["version"] = e.version
    return True


async def flush(conn: Any, s: str, areas: Areas, only: uuid.UUID | None = None) -> None:
    """Write the kept rows (or the one of `only`) and forget them."""
    if only is not None:
        k = areas.kept.pop(only, None)
        batch = [k] if k is not None else []
    else:
        batch = list(areas.kept.values())
        areas.kept.clear()
    if not batch:
        return
    areas.written.update(k.row["area_id"] for k in batch)
    columns = [[_dumps(k.row[name]) if name in _JSON else k.row[name] for k in batch]
               for name, _ in _COLUMNS]
    columns.append([k.row["roster_of"] for k in batch])
    names = ", ".join(name for name, _ in _COLUMNS)
    arrays = ", ".join(f"${i}::{kind}[]" for i, (_, kind) in enumerate(_COLUMNS, 1))
    values = ", ".join(  # a roster read without its lines: those of its event's row (an event
        # not found there gives NULL, refused by the column: never an empty roster in silence)
        f"CASE WHEN r.roster_of IS NULL THEN r.roster ELSE (SELECT e.data->'entries' FROM"
        f" {s}.events e WHERE e.id = r.roster_of) END" if name == "roster" else name
        for name, _ in _COLUMNS)
    # in the order folded, as the live INSERTs ran: the first of two same-coded areas wins
    await conn.execute(
        f"INSERT INTO {s}.areas ({names}) SELECT {values} FROM unnest({arrays},"
        f" ${len(_COLUMNS) + 1}::uuid[]) WITH ORDINALITY AS r({names}, roster_of, ord)"
        f" ORDER BY ord ON CONFLICT DO NOTHING", *columns)
    pairs = [(k.row["area_id"], u) for k in batch for u in k.enumerators]
    if pairs:  # only for the rows that went in (the live path could not assign the others)
        await conn.execute(
            f"INSERT INTO {s}.area_enumerators (area_id, username) SELECT r.a, r.u FROM"
            f" unnest($1::uuid[], $2::text[]) AS r(a, u) JOIN {s}.areas x ON x.area_id = r.a"
            f" ON CONFLICT DO NOTHING", [a for a, _ in pairs], [u for _, u in pairs])


def _dumps(value: Any) -> str | None:
    if value is None:
        return None
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # e.g. an integer beyond 64 bits
        return json.dumps(value, ensure_ascii=False, default=str)
