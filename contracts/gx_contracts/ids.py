"""Deterministic ids and stream ids shared by all services (编号规则)."""

from __future__ import annotations

from uuid import UUID, uuid5

__all__ = ["GXSTAT_NAMESPACE", "report_id_for", "case_id_for", "stream_id", "id_of_stream"]

GXSTAT_NAMESPACE = UUID("6f1c5a52-3c1e-5d0e-9a57-6a2f0b7d4c45")
"""Fixed namespace for name-based ids. Never change it: ids are stored everywhere."""


def report_id_for(task_id: UUID | str, village_code: str) -> UUID:
    """报表ID = uuid5(task_id, village_code): one report per task and village."""
    return uuid5(UUID(str(task_id)), village_code)


def case_id_for(subject_kind: str, subject_id: UUID | str) -> UUID:
    """案卷ID = uuid5(uuid5(GXSTAT_NAMESPACE, subject_kind), subject_id): one case per subject."""
    return uuid5(uuid5(GXSTAT_NAMESPACE, subject_kind), str(subject_id))


def stream_id(prefix: str, id_: UUID | str) -> str:
    """``<prefix>-<uuid>``, e.g. ``stream_id("report", rid)`` -> ``report-…``."""
    return f"{prefix}-{UUID(str(id_))}"


def id_of_stream(stream: str) -> UUID:
    """The uuid part of a stream id ``<prefix>-<uuid>``."""
    prefix, sep, rest = stream.partition("-")
    if not sep or not prefix:
        raise ValueError(f"not a stream id: {stream!r}")
    return UUID(rest)
