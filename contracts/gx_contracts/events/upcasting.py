"""Upcasters and the one decoder of stored/inbound event payloads (pure, no I/O).

A stored event keeps the ``schema_version`` it was written with. When a payload class changes
shape in a way a default cannot absorb (a field renamed, split, re-typed), its ``@event``
version goes up by one and an upcaster lifts the old dict: ``@upcaster(type, from_version=N)``
turns a version-N dict into a version-N+1 dict. ``decode`` applies the chain up to the class's
current ``SCHEMA_VERSION`` and validates the result: inbound handlers and aggregate replay read
events through it, never ``model_validate(event.data)`` by hand.

Additive changes with a default (every change so far) need no upcaster and no new version:
``EventPayload`` ignores unknown fields and the defaults fill the missing ones.

Every error here is a ``ValueError`` (an ``EventDecodeError``): the consumer treats it as
poison and dead-letters the event with the reason at once, since no retry can fix it.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from ..types import EventPayload
from .base import EVENT_TYPES
from .trusted import trusted_replay, trusted_validator, trusting

__all__ = [
    "Upcaster",
    "Upcasting",
    "UPCASTING",
    "EventDecodeError",
    "UnknownEventType",
    "UnknownSchemaVersion",
    "MissingUpcaster",
    "InvalidPayload",
    "upcaster",
    "decode",
    "trusted_replay",
]

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]
"""Lifts a payload dict of schema version N to N+1 (may change the dict it is given)."""


class EventDecodeError(ValueError):
    """A stored or inbound event that cannot become a payload object (never transient)."""

    def __init__(self, event_type: str, schema_version: int, message: str) -> None:
        super().__init__(f"{event_type} v{schema_version}: {message}")
        self.event_type = event_type
        self.schema_version = schema_version


class UnknownEventType(EventDecodeError):
    """No payload class is registered under the event's type."""


class UnknownSchemaVersion(EventDecodeError):
    """The version is below 1 or newer than this code knows (written by a newer release)."""


class MissingUpcaster(EventDecodeError):
    """An older version with no upcaster to the next one (a gap in the chain)."""


class InvalidPayload(EventDecodeError):
    """The (upcast) dict does not validate as the current payload class."""


class Upcasting:
    """Payload classes by type (``EVENT_TYPES`` by default) and the upcasters between versions."""

    def __init__(self, types: Mapping[str, tuple[type[BaseModel], int]] | None = None) -> None:
        self._types = EVENT_TYPES if types is None else types
        self._upcasters: dict[tuple[str, int], Upcaster] = {}

    def upcaster(self, event_type: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
        """Register ``fn`` lifting ``event_type`` payloads of ``from_version`` to ``from_version + 1``."""
        if from_version < 1:
            raise ValueError(f"upcaster for {event_type}: from_version must be ≥ 1")

        def register(fn: Upcaster) -> Upcaster:
            key = (event_type, from_version)
            if key in self._upcasters:
                raise ValueError(f"upcaster {event_type} v{from_version} registered twice")
            self._upcasters[key] = fn
            return fn

        return register

    def current_version(self, event_type: str) -> tuple[type[BaseModel], int]:
        try:
            return self._types[event_type]
        except KeyError:
            raise UnknownEventType(event_type, 0, "unknown event type") from None

    def upcast(self, event_type: str, schema_version: int, data: Any) -> dict[str, Any]:
        """``data`` lifted to the current version (a copy when any upcaster runs)."""
        _, current = self.current_version(event_type)
        if not isinstance(schema_version, int) or isinstance(schema_version, bool) \
                or schema_version < 1:
            raise UnknownSchemaVersion(event_type, schema_version, "schema_version must be ≥ 1")
        if schema_version > current:
            raise UnknownSchemaVersion(
                event_type, schema_version,
                f"newer than this code knows (current v{current}): upgrade the reader")
        if not isinstance(data, dict):
            raise InvalidPayload(event_type, schema_version,
                                 f"payload is {type(data).__name__}, not an object")
        if schema_version == current:
            return data
        data = copy.deepcopy(data)  # the stored event's dict stays as it was read
        for version in range(schema_version, current):
            fn = self._upcasters.get((event_type, version))
            if fn is None:
                raise MissingUpcaster(event_type, version,
                                      f"no upcaster to v{version + 1} (current v{current})")
            try:
                data = fn(data)
            except Exception as exc:  # a malformed old payload: poison, not a crash of the reader
                raise InvalidPayload(event_type, version,
                                     f"upcaster to v{version + 1} failed: {exc!r}") from exc
            if not isinstance(data, dict):
                raise InvalidPayload(event_type, version,
                                     f"upcaster to v{version + 1} returned {type(data).__name__}")
        return data

    def decode(self, event_type: str, schema_version: int, data: Any, *,
               trusted: bool | None = None) -> EventPayload:
        """The event's payload as today's payload class, upcast from ``schema_version``.

        ``trusted`` (default: inside ``trusted_replay()``, as the projection rebuild runs):
        an event of our own store, validated when it was raised — converted to the class
        without running the contract checks again (``gx_contracts.events.trusted``). Input
        from outside (requests, broker records) is always validated: leave it None there."""
        model, current = self.current_version(event_type)
        lifted = self.upcast(event_type, schema_version, data)
        try:
            if trusting() if trusted is None else trusted:
                payload = trusted_validator(model).validate_python(lifted)
            else:
                payload = model.model_validate(lifted)
        except ValidationError as exc:
            detail = "; ".join(f"{'.'.join(map(str, e['loc'])) or '(root)'}: {e['msg']}"
                               for e in exc.errors(include_url=False)[:5])
            raise InvalidPayload(event_type, schema_version,
                                 f"invalid as v{current}: {detail}") from exc
        assert isinstance(payload, EventPayload)
        return payload

    def gaps(self) -> list[str]:
        """Chains that cannot be walked, and upcasters that lead nowhere (for a test)."""
        found = [f"{t}: no upcaster v{v} -> v{v + 1}"
                 for t, (_, current) in sorted(self._types.items())
                 for v in range(1, current) if (t, v) not in self._upcasters]
        for (t, v) in sorted(self._upcasters):
            if t not in self._types:
                found.append(f"{t}: upcaster v{v} for an unknown type")
            elif v >= self._types[t][1]:
                found.append(f"{t}: upcaster v{v} beyond current v{self._types[t][1]}")
        return found


UPCASTING = Upcasting()
"""The registry every service uses (payload classes from ``EVENT_TYPES``)."""

upcaster = UPCASTING.upcaster
decode = UPCASTING.decode

# Upcasters of the real event types go here, next to the version bump in the payload module.
# None yet: every change to agri/workflow payloads since 820aedc added a field with a default
# (Submission.field_labels, ReportSubmitted.note_answers/changed, ReportAccepted.final/
# next_level/accepted_level, CaseOpened.watch_levels/chain_profile,
# CaseResubmitted.field_labels), so every payload is still schema version 1.
