"""Safe retries at the gateway (幂等重试): the first response to (user, key) is replayed.

Flow: claim the key as 'pending' -> forward -> store the answer as 'done'. A concurrent retry
with the same key waits for 'done' (up to a limit), then gets 409 'in progress'. The same key
with a different method, path or body is 422. An attempt that got no usable answer (service
down, or a 5xx) releases its claim so the client's retry really runs again.
"""
from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Awaitable, Callable

from gx_kernel.errors import AppError, Conflict

from gx_gateway.adapters import idempotency_repo as repo
from gx_gateway.application.forwarding import Upstream


def fingerprint(method: str, path_qs: str, body: bytes) -> str:
    h = hashlib.sha256()
    for part in (method.upper().encode(), path_qs.encode(), body):
        h.update(len(part).to_bytes(8, "big"))
        h.update(part)
    return h.hexdigest()


def _reused() -> AppError:
    return AppError(422, "idempotency_key_reused",
                    "同一幂等键（Idempotency-Key）已用于不同的请求内容", field="Idempotency-Key")


async def run_idempotent(pool, schema: str, owner: str, key: str, digest: str,
                         call: Callable[[], Awaitable[Upstream]], wait_seconds: float,
                         stale_seconds: int) -> tuple[Upstream, bool]:
    """(response, replayed)."""
    deadline = time.monotonic() + wait_seconds
    delay = 0.02
    while True:
        existing = await repo.claim(pool, schema, owner, key, digest, stale_seconds)
        if existing is None:
            break  # ours: run it
        if existing.request_hash != digest:
            raise _reused()
        if existing.state == "done":
            return Upstream(existing.status or 200, existing.body or b"",
                            existing.content_type, {}), True
        if time.monotonic() >= deadline:
            raise Conflict("相同幂等键（Idempotency-Key）的请求正在处理中，请稍后重试",
                           code="idempotency_in_progress")
        await asyncio.sleep(delay)
        delay = min(delay * 2, 0.25)
    try:
        up = await call()
    except BaseException:
        await asyncio.shield(repo.release(pool, schema, owner, key))
        raise
    if up.stream is not None or up.status >= 500:
        await repo.release(pool, schema, owner, key)
        return up, False
    await repo.complete(pool, schema, owner, key, up.status, up.body, up.content_type)
    return up, False
