"""Event payloads of every domain and the registry ``EVENT_TYPES`` (type -> (model, schema_version))."""

from . import agri, gateway, organisation, population, registry, workflow
from .base import (
    EVENT_TYPES,
    EventMetadata,
    EventPayload,
    Submission,
    event_fields,
    payload_model,
    validate_payload,
)
from .upcasting import EventDecodeError, decode, upcaster
from .workflow import RETURN_REASONS

__all__ = [
    "EVENT_TYPES",
    "EventMetadata",
    "EventDecodeError",
    "EventPayload",
    "RETURN_REASONS",
    "Submission",
    "agri",
    "decode",
    "event_fields",
    "gateway",
    "organisation",
    "payload_model",
    "population",
    "registry",
    "upcaster",
    "validate_payload",
    "workflow",
]
