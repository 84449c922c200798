"""依法删除 (erasure): the region destroys a person's data key, with a reason code.

The key row loses its wrapped bytes in the same transaction as `population.person.erased` is
appended; the person row drops its sealed identifying fields too. Every other record naming
the person — their roster line, change reports, PES check persons — is erased with them
(application.erasure_links). Every other copy (event log,
topics, backups) holds only ciphertext under a key that no longer exists. Counts stay: the
person remains a counted member of the household, with codes and age band.
"""
from __future__ import annotations

import uuid
from typing import Any

from gx_contracts.commands.population import ErasePerson
from gx_kernel.errors import AppError, NotFound
from gx_kernel.identity import Principal
from gx_kernel.service import ServiceRuntime

from gx_population.adapters import repo
from gx_population.application import erasure_links as links
from gx_population.application.access import (
    cipher,
    jurisdiction,
    metadata,
    require_role,
    unit_of_work,
)
from gx_population.application.registration import _commit
from gx_population.domain.household import Household
from gx_population.privacy.keys import StoredKey


async def erase(rt: ServiceRuntime, p: Principal, household_id: uuid.UUID,
                person_id: uuid.UUID | None, cmd: ErasePerson,
                key: str | None) -> tuple[int, dict[str, Any]]:
    """Erase one person, or (person_id None) every person of the household."""
    require_role(p, {"region_statistician"}, "删除个人信息（仅自治区统计局）")
    s = rt.settings.schema
    async with unit_of_work(rt, p, key, {"op": "erase", "h": str(household_id),
                                         "p": str(person_id), **cmd.model_dump()}) as uow:
        if uow.replayed:
            return uow.replayed
        row = await repo.household(uow.conn, s, household_id, lock=True)
        if row is None or not row["village_code"].startswith(jurisdiction(p)):
            raise NotFound("住户", str(household_id))
        people = [r for r in await repo.persons_with_keys(uow.conn, s, household_id)
                  if person_id is None or r["person_id"] == person_id]
        if person_id is not None and not people:
            raise NotFound("人员", str(person_id))
        todo = [r for r in people if r["erased_at"] is None]
        if person_id is not None and not todo:
            raise AppError(409, "already_erased", "该人员的个人信息已删除")
        hh = Household.from_row(row)
        c = cipher(rt, uow.conn)
        opened = c.open_loaded(
            {str(r["person_id"]): r["fields"] for r in todo if r["wrapped_key"] is not None},
            {str(r["person_id"]): StoredKey(str(r["person_id"]), r["wrapped_key"],
                                            r["key_version"], r["destroyed_at"])
             for r in todo if r["wrapped_key"] is not None})
        linked_all: list[str] = []
        for r in todo:
            pid = str(r["person_id"])
            # the records that name this person (roster line, change reports, PES persons)
            linked = (await links.find(uow.conn, s, c, row, [opened[pid]])
                      if pid in opened else [])
            linked = [lk for lk in linked if lk.record_id not in linked_all]
            await links.erase(uow, c, linked, row, r["person_id"], cmd.reason_code,
                              p.user_id, metadata(p, key))
            linked_all += [lk.record_id for lk in linked]
            await c.erase(pid)
            hh.erase_person(r["person_id"], cmd.reason_code, p.user_id)
        await _commit(uow, s, hh, p, key, metadata(p, key))
        return uow.respond(200, {"household_id": str(household_id),
                                 "erased": [str(r["person_id"]) for r in todo],
                                 "linked_records_erased": len(linked_all),
                                 "person_count": row["person_count"], "version": hh.version})
