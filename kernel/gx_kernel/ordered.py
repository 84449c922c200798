"""Chunks written by overlapping transactions that commit in their order.

A bulk writer that prepares a chunk in Python and then waits on the database for it keeps one
core busy at a time. Here the next chunk starts once the current one says its preparation is
done (`turn.release_next()`), so this process builds chunk n+1 while the database writes
chunk n; each chunk waits for the one before to finish (`await turn.predecessor()`, the last
thing before its commit), so commits — and any progress recorded with them — stay in order:
a crash leaves a prefix of the chunks committed, as one at a time would.

    async def write(chunk, turn):
        async with UnitOfWork(store) as uow:
            ...                       # read and lock what the chunk needs, build its events
            turn.release_next()      # the next chunk may start its own preparation
            await uow.flush()         # the database works; this process prepares the next
            await turn.predecessor()  # commit only after the chunk before committed
            ...                       # rows every chunk updates (progress): only now
    await in_order(chunks, write)

At most two chunks are in flight. When one fails, the one before it still commits, the one
after it fails at `predecessor()` (rolled back with its transaction), no further chunk starts,
and the first failure in chunk order is raised.

Locks: chunk n+1 runs while n still writes. Where n+1 waits for a row n holds, the database
makes it wait for n's commit: fine. But n+1 must not hold a row n has yet to write
while it waits for n in this process — a deadlock the database cannot see (a progress row
every chunk updates, written before `predecessor()`, hung so). Rows that every chunk writes
are written after `predecessor()`.
"""
from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterable
from typing import TypeVar

T = TypeVar("T")


class Turn:
    """A chunk's place in the order: when the next may start, and the one before it."""

    def __init__(self, before: asyncio.Task[None] | None) -> None:
        self._before = before
        self.released: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def release_next(self) -> None:
        """This chunk's preparation is done: the next one may start."""
        if not self.released.done():
            self.released.set_result(None)

    async def predecessor(self) -> None:
        """Wait until the chunk before has committed; raises if it failed."""
        if self._before is not None:
            await asyncio.shield(self._before)


async def in_order(chunks: Iterable[T], write: Callable[[T, Turn], Awaitable[None]]) -> None:
    """Run `write(chunk, turn)` for each chunk, overlapping two at a time, in order."""
    prev: asyncio.Task[None] | None = None
    older: asyncio.Task[None] | None = None  # the one before `prev`
    running: list[asyncio.Task[None]] = []
    source = iter(chunks)
    try:
        while True:
            try:
                chunk = next(source)
            except StopIteration:
                break
            except Exception:  # the chunks themselves failed: those in flight still finish
                await _settle(older, prev)
                raise
            if older is not None:
                await older  # at most two in flight; raises its failure
            if prev is not None and prev.done():
                prev.result()  # raises the failure of the chunk before
            turn = Turn(prev)
            task = asyncio.create_task(_run(write, chunk, turn))
            running = [t for t in (prev, task) if t is not None]
            await asyncio.wait({turn.released, task}, return_when=asyncio.FIRST_COMPLETED)
            if task.done() and task.exception() is not None:
                await _settle(prev, task)  # the chunk before still commits, or fails first
            older, prev = prev, task
        await _settle(older, prev)  # the last two finish, even when the last one failed
    finally:
        for t in running:
            if not t.done():
                t.cancel()
        for t in running:
            with contextlib.suppress(BaseException):
                await t


async def _settle(*tasks: asyncio.Task[None] | None) -> None:
    """Wait for every one of these to finish, then raise the first failure in their order."""
    mine = [t for t in tasks if t is not None]
    if mine:
        await asyncio.wait(mine)
    for t in mine:
        t.result()


async def _run(write: Callable[[T, Turn], Awaitable[None]], chunk: T, turn: Turn) -> None:
    try:
        await write(chunk, turn)
    finally:
        turn.release_next()


__all__ = ["Turn", "in_order"]
