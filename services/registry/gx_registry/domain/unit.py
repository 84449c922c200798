"""基本单位: the event-sourced unit record (pure, no I/O).

Every change raises a `registry.unit.*` event carrying its source (department file and row,
survey, confirmation, reviewer); `apply` folds an event into the state, so the same code
loads a unit from its stream and keeps a new one current.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any
from uuid import UUID

from gx_contracts.events.base import EventPayload, event_fields
from gx_contracts.events.registry import (
    Source,
    UnitChanged,
    UnitClassified,
    UnitClosed,
    UnitConfirmed,
    UnitFlagged,
    UnitKind,
    UnitMoved,
    UnitRegistered,
)
from gx_contracts.ids import stream_id
from gx_kernel.eventstore import NewEvent

from gx_registry.domain.classify import ACTIVITY_UNIT, LEGAL_PERSON, Classification

CHANGEABLE = ("uscc", "name", "address", "legal_rep", "status", "reg_no", "phone",
              "industry_code")
"""Fields a department file, a survey or a reviewer may change."""
CLOSED_STATUSES = frozenset({"4", "5", "6", "7"})
"""运营状态: 4 当年关闭, 5 当年破产, 6 当年注销, 7 当年吊销."""
KIND_OF = {LEGAL_PERSON: UnitKind.legal_person, ACTIVITY_UNIT: UnitKind.activity_unit,
           "个体经营户": UnitKind.individual}
STATUS_ZH = {"1": "正常运营", "2": "停业（歇业）", "3": "筹建", "4": "当年关闭", "5": "当年破产",
             "6": "当年注销", "7": "当年吊销", "9": "其他"}


class UnitError(ValueError):
    """A command the unit's state refuses; `code` is stable."""

    def __init__(self, code: str, message_zh: str):
        super().__init__(message_zh)
        self.code = code


@dataclass
class Unit:
    unit_id: UUID
    name: str = ""
    division_code: str = ""
    uscc: str | None = None
    address: str | None = None
    legal_rep: str | None = None
    status: str | None = None
    reg_no: str | None = None
    phone: str | None = None
    industry_code: str | None = None
    unit_kind: str = UnitKind.legal_person.value
    unit_type: str | None = None
    parent_id: UUID | None = None
    closed: bool = False
    version: int = 0  # stream version as loaded: the expected version of the next append
    pending_events: list[NewEvent] = field(default_factory=list)

    @property
    def stream_id(self) -> str:
        return stream_id("unit", self.unit_id)

    @property
    def registered(self) -> bool:
        return bool(self.name)

    # -- commands -------------------------------------------------------------------------
    @classmethod
    def register(cls, unit_id: UUID, record: Mapping[str, Any], division_code: str,
                 classification: Classification, source: Source, *,
                 placement: Mapping[str, Any] | None = None,
                 flags: Iterable[Mapping[str, str]] = (),
                 explanation: Mapping[str, Any] | None = None) -> Unit:
        """A new unit (入库), classified in the same breath (two events)."""
        unit = cls(unit_id)
        kind = KIND_OF.get(classification.unit_kind, UnitKind.legal_person)
        unit._raise(UnitRegistered(
            unit_id=unit_id, unit_kind=kind, name=str(record["name"]),
            division_code=division_code, **{k: record.get(k) or None for k in CHANGEABLE
                                           if k != "name"},
            placement=dict(placement or {}), flags=[dict(f) for f in flags],
            explanation=dict(explanation or {}), source=source))
        unit.classify(classification, source)
        return unit

    def change(self, changes: Mapping[str, Any], source: Source,
               explanation: Mapping[str, Any] | None = None) -> bool:
        """Record what differs (False: nothing did, no event). A closing status (关闭, 破产,
        注销, 吊销) closes the unit if it is not closed yet — also when the register already
        had that status without the closing. A closed unit stays closed: a status saying it
        operates is not taken from a file (no event reopens a unit)."""
        self._require_registered()
        diff = {k: v for k, v in changes.items()
                if k in CHANGEABLE and v not in (None, "") and v != getattr(self, k)}
        if self.closed and diff.get("status") not in CLOSED_STATUSES:
            diff.pop("status", None)
        closing = changes.get("status") in CLOSED_STATUSES and not self.closed
        if not diff and not closing:
            return False
        if diff:
            self._raise(UnitChanged(unit_id=self.unit_id, division_code=self.division_code,
                                    changes=diff, previous={k: getattr(self, k) for k in diff},
                                    explanation=dict(explanation or {}), source=source))
        if closing:
            status = str(changes["status"])
            self._raise(UnitClosed(unit_id=self.unit_id, division_code=self.division_code,
                                   status=status, reason=STATUS_ZH.get(status, ""),
                                   source=source))
        return True

    def classify(self, c: Classification, source: Source) -> None:
        kind = KIND_OF.get(c.unit_kind, UnitKind.legal_person)
        self._raise(UnitClassified(
            unit_id=self.unit_id, unit_kind=kind, unit_type=c.unit_type,
            rules_version=c.rules_version, kind_rule=c.kind_rule, type_rule=c.type_rule,
            parent_name=c.parent_name, parent_id=UUID(c.parent_id) if c.parent_id else None,
            source=source))

    def move(self, to_division: str, reason_code: str, reason: str, source: Source) -> None:
        self._require_registered()
        if to_division == self.division_code:
            raise UnitError("same_division", "迁入区划与单位现所在区划相同")
        self._raise(UnitMoved(unit_id=self.unit_id, from_division=self.division_code,
                              to_division=to_division, reason_code=reason_code, reason=reason,
                              source=source))

    def close(self, status: str, reason: str, source: Source) -> None:
        self._require_registered()
        if self.closed:
            raise UnitError("already_closed", "单位已关闭")
        self._raise(UnitClosed(unit_id=self.unit_id, division_code=self.division_code,
                               status=status, reason=reason, source=source))

    def confirm(self, round_id: UUID, outcome: str, note: str, source: Source) -> None:
        self._require_registered()
        self._raise(UnitConfirmed(unit_id=self.unit_id, division_code=self.division_code,
                                  round_id=round_id, outcome=outcome,
                                  note=note, source=source))

    def flag(self, findings: list[dict[str, str]], rules_version: str, source: Source) -> None:
        self._require_registered()
        self._raise(UnitFlagged(unit_id=self.unit_id, division_code=self.division_code,
                                findings=findings, rules_version=rules_version, source=source))

    # -- state ----------------------------------------------------------------------------
    def apply(self, payload: EventPayload) -> None:
        """Fold one of this unit's events into its state."""
        if isinstance(payload, UnitRegistered):
            for k in CHANGEABLE:
                setattr(self, k, getattr(payload, k))
            self.division_code, self.unit_kind = payload.division_code, payload.unit_kind.value
        elif isinstance(payload, UnitChanged):
            for k, v in payload.changes.items():
                if k in CHANGEABLE:
                    setattr(self, k, v)
        elif isinstance(payload, UnitClassified):
            self.unit_kind, self.unit_type = payload.unit_kind.value, payload.unit_type
            self.parent_id = payload.parent_id
        elif isinstance(payload, UnitMoved):
            self.division_code = payload.to_division
        elif isinstance(payload, UnitClosed):
            self.closed, self.status = True, payload.status

    @classmethod
    def from_events(cls, unit_id: UUID, payloads: Iterable[EventPayload]) -> Unit:
        unit = cls(unit_id)
        for p in payloads:
            unit.apply(p)
            unit.version += 1
        return unit

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Unit:
        """From the `units` read model (its snapshot, kept with every event)."""
        names = {f.name for f in fields(cls)} - {"pending_events"}
        return cls(**{k: row[k] for k in names if k in row})

    def snapshot(self) -> Unit:
        return replace(self, pending_events=[])

    def _raise(self, payload: EventPayload) -> None:
        self.apply(payload)
        self.pending_events.append(NewEvent(**event_fields(payload)))

    def _require_registered(self) -> None:
        if not self.registered:
            raise UnitError("unit_not_found", "单位不存在")
