"""Keyset cursors of the queue: opaque to clients, (arrived_at, case_id) inside."""
from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from uuid import UUID

MAX_CURSOR_CHARS = 200


def encode_cursor(arrived_at: datetime, case_id: UUID | str) -> str:
    raw = json.dumps([arrived_at.isoformat(), str(case_id)], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, UUID]:
    """The position after which the next page starts; ValueError if it is not one of ours."""
    if len(cursor) > MAX_CURSOR_CHARS:
        raise ValueError("cursor too long")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        at, case_id = json.loads(raw)
        when = datetime.fromisoformat(at)
        if when.tzinfo is None:
            raise ValueError("naive time")
        return when, UUID(case_id)
    except (binascii.Error, UnicodeDecodeError, TypeError, ValueError) as exc:
        raise ValueError(f"bad cursor: {exc}") from None
