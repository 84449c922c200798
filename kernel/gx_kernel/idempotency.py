"""Safe retries of commands: the first result of a key is stored and replayed.

Used inside the command's own transaction, so the stored response and the command's effects
commit together: a retry after a crash either finds both or neither.
"""
from __future__ import annotations

import hashlib
import json
from typing import Any


def ddl(schema: str) -> str:
    return (f"CREATE TABLE IF NOT EXISTS {schema}.idempotency_keys ("
            f"owner text NOT NULL, key text NOT NULL, request_hash text NOT NULL, "
            f"status integer NOT NULL, response jsonb NOT NULL, "
            f"created_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (owner, key))")


def request_hash(payload: Any) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str,
                                     ensure_ascii=False).encode()).hexdigest()


