"""Reactions to the review chain (topic workflow.events) for 基本单位情况表.

The form follows each review event through the shared lifecycle; once the county accepts it
(final), the survey is written into the register: the unit's fields change (or a unit found on
the ground is registered), with the form as the source. The form records each review event it
follows (`review_followed`, with the lifecycle state it moved to), so its row — and its task's
done flag — are projected from the registry's own events.
"""
from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

from gx_contracts.events import decode as decode_payload
from gx_contracts.events.registry import SUBJECT_KIND, Source, UnitFormReviewStep
from gx_contracts.events.workflow import CaseOpened
from gx_contracts.ids import stream_id
from gx_contracts.lifecycle import REVIEW_EVENTS, Accepted, concerns
from gx_kernel.consumer import InboundEvent
from gx_kernel.service import ServiceRuntime
from gx_kernel.uow import UnitOfWork

from gx_registry.application.access import reaction_metadata
from gx_registry.application.projections import projections
from gx_registry.domain import audit
from gx_registry.domain.classify import classify
from gx_registry.domain.form_aggregate import UnitForm
from gx_registry.domain.placement import _tree
from gx_registry.domain.unit import CHANGEABLE, Unit, UnitError

log = logging.getLogger(__name__)
WANTED = frozenset(m.EVENT_TYPE for m in REVIEW_EVENTS)


def wants(event_type: str) -> bool:
    return event_type in WANTED


# Review events about other domains' cases: passed without a transaction.
accepts = concerns(SUBJECT_KIND)


async def apply_survey(uow: UnitOfWork, s: str, form: UnitForm, meta: dict[str, Any]) -> None:
    """The accepted survey becomes the unit's record (source: the form)."""
    src = Source(kind="survey", form_id=form.form_id)
    v = form.values
    rec = {k: (str(v[k]) if v.get(k) not in (None, "") else None) for k in CHANGEABLE}
    division = str(v.get("division_code") or form.village_code)
    if form.unit_id is not None:
        row = await uow.conn.fetchrow(f"SELECT * FROM {s}.units WHERE unit_id = $1 FOR UPDATE",
                                      form.unit_id)
        unit = Unit.from_row(dict(row))
        unit.change(rec, src, {"rule": "survey.accepted", "text": "实地调查（基本单位情况表）已验收"})
        if division != unit.division_code:
            try:
                unit.move(division, "surveyed", "实地调查确认的所在区划", src)
            except UnitError:
                pass
    else:
        unit_id = uuid.uuid5(form.form_id, "unit")
        unit = Unit.register(unit_id, rec, division, classify(rec["name"] or "", rec["uscc"]), src,
                             explanation={"rule": "survey.found", "text": "实地发现的新单位"})
        form.unit_id = unit_id  # the form's row names it from this registered event
    # the register's audit of the surveyed record: errors go back to the coordinator's list
    rules = audit.audit_rules()
    found = audit.audit([{"unit_id": unit.unit_id, "uscc": unit.uscc, "name": unit.name,
                          "division_code": unit.division_code, "unit_kind": unit.unit_kind,
                          "parent_id": unit.parent_id, "legal_rep": unit.legal_rep}],
                        _tree().divisions.__contains__, rules)
    if found:
        unit.flag(found[unit.unit_id], rules.version,
                  Source(kind="audit", form_id=form.form_id, scope_division=form.village_code,
                         note="实地调查验收后的名录库审核"))
    if unit.pending_events:
        uow.add(unit, meta)
    # the form's task is done by the projection of the final acceptance (form_projections)


def review_step(event: InboundEvent) -> UnitFormReviewStep:
    """The review event as the form's history keeps it (who, level, comment)."""
    data = event.data if isinstance(event.data, dict) else {}
    level = data.get("level") or data.get("from_level")
    comment = data.get("comment") or data.get("reason")
    name = (event.metadata or {}).get("actor_name")
    return UnitFormReviewStep(event_id=event.id, type=event.type, at=event.time,
                              actor_name=str(name)[:200] if name else None, level=level,
                              comment=str(comment)[:1000] if comment else None)


def make_handler(rt: ServiceRuntime) -> Callable[[asyncpg.Connection, InboundEvent], Awaitable[None]]:
    s = rt.settings.schema

    async def handle(conn: asyncpg.Connection, event: InboundEvent) -> None:
        if not wants(event.type):
            return
        payload = decode_payload(event.type, event.schema_version, event.data)
        subject = payload.submission if isinstance(payload, CaseOpened) else payload
        if subject.subject_kind != SUBJECT_KIND:
            return
        try:
            form_id = uuid.UUID(subject.subject_id)
        except ValueError:
            log.warning("workflow event %s names a malformed form id", event.id)
            return
        row = await conn.fetchrow(f"SELECT form_id FROM {s}.unit_forms WHERE form_id = $1 "
                                  f"FOR UPDATE", form_id)
        if row is None:
            log.warning("workflow event %s for unknown form %s ignored", event.id, form_id)
            return
        form = UnitForm.load(form_id, await rt.store.read_stream(stream_id("unitform", form_id),
                                                                 conn=conn))
        meta = reaction_metadata(event.metadata, event.id)
        async with UnitOfWork.for_connection(conn, rt.store, projections=projections(s)) as uow:
            outcome = form.follow(payload, review_step(event))  # type: ignore[arg-type]
            uow.add(form, meta)
            if isinstance(outcome, Accepted) and outcome.final:
                await apply_survey(uow, s, form, meta)
    return handle
