"""Which failures a later try may get past (transient) and which never will (permanent).

The consumer retries only the first kind, with jittered backoff, and dead-letters the rest at
once; kept apart so other retry loops can classify the same way.
"""
from __future__ import annotations

import asyncpg
from aiokafka.errors import KafkaConnectionError, KafkaError, KafkaTimeoutError

from gx_kernel.eventstore import ConcurrencyError

__all__ = ["TransientError", "is_transient"]

# SQLSTATE classes and codes that a later try can get past: connection lost (08), transaction
# rolled back by serialization failure or deadlock (40), too many connections / out of
# resources (53), server shutting down or starting (57P0x), lock or statement timeout.
_TRANSIENT_SQLSTATE_CLASSES = {"08", "40", "53"}
_TRANSIENT_SQLSTATES = {"57P01", "57P02", "57P03", "55P03", "57014"}

class TransientError(Exception):
    """Raise (or raise from) in a handler for a failure that a later try may get past."""


def is_transient(exc: BaseException) -> bool:
    """True for failures worth retrying; follows `raise ... from` causes."""
    seen = 0
    current: BaseException | None = exc
    while current is not None and seen < 5:
        if isinstance(current, (TransientError, ConcurrencyError, OSError,
                                KafkaConnectionError, KafkaTimeoutError)):
            return True  # OSError: refused or reset connections, timeouts (TimeoutError)
        if isinstance(current, KafkaError) and current.retriable:
            return True
        state = getattr(current, "sqlstate", None)
        if isinstance(current, asyncpg.PostgresError) and state and (
                state[:2] in _TRANSIENT_SQLSTATE_CLASSES or state in _TRANSIENT_SQLSTATES):
            return True
        current, seen = current.__cause__, seen + 1
    return False
