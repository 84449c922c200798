"""gx_kernel.ordered: chunks overlap two at a time and commit in order; a failure stops the
chunks after it before they commit."""
import asyncio
import random

import pytest

from gx_kernel.ordered import Turn, in_order

pytestmark = pytest.mark.unit


async def test_chunks_overlap_but_commit_in_their_order():
    log: list[tuple[str, int]] = []
    in_flight, most = 0, 0
    rng = random.Random(7)
    n_chunks = 30
    prepared = [asyncio.Event() for _ in range(n_chunks)]

    async def write(n: int, turn: Turn) -> None:
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)
        log.append(("prepare", n))
        prepared[n].set()
        await asyncio.sleep(rng.random() / 500)
        turn.release_next()
        if n + 1 < n_chunks:  # the database writes chunk n while chunk n+1 is prepared
            await asyncio.wait_for(prepared[n + 1].wait(), 5)
        await asyncio.sleep(rng.random() / 500)
        await turn.predecessor()
        log.append(("commit", n))
        in_flight -= 1

    await in_order(range(n_chunks), write)
    assert [n for what, n in log if what == "commit"] == list(range(n_chunks))
    assert most == 2  # overlapped, never more than two


@pytest.mark.parametrize("before_release", [True, False])
async def test_a_failure_stops_the_chunks_after_it_before_they_commit(before_release):
    committed, started = [], []

    async def write(n: int, turn: Turn) -> None:
        started.append(n)
        if n == 3 and before_release:
            raise ValueError("chunk 3")
        turn.release_next()
        await asyncio.sleep(0.01)
        if n == 3:
            raise ValueError("chunk 3")
        await turn.predecessor()
        committed.append(n)

    with pytest.raises(ValueError, match="chunk 3"):
        await in_order(range(10), write)
    assert committed == [0, 1, 2]
    assert max(started) <= 4  # at most the chunk after the failed one had started


async def test_the_last_chunk_failing_leaves_the_one_before_to_commit():
    committed = []

    async def write(n: int, turn: Turn) -> None:
        turn.release_next()
        if n == 4:  # the last, failing in its own write while chunk 3 still writes
            await asyncio.sleep(0.001)
            raise ValueError("chunk 4")
        await asyncio.sleep(0.1 if n == 3 else 0.01)
        await turn.predecessor()
        committed.append(n)

    with pytest.raises(ValueError, match="chunk 4"):
        await in_order(range(5), write)
    assert committed == [0, 1, 2, 3]


async def test_chunks_that_fail_to_come_let_those_in_flight_commit():
    committed = []

    def chunks():
        yield from range(3)
        raise OSError("the source broke")

    async def write(n: int, turn: Turn) -> None:
        turn.release_next()
        await asyncio.sleep(0.02)
        await turn.predecessor()
        committed.append(n)

    with pytest.raises(OSError, match="source broke"):
        await in_order(chunks(), write)
    assert committed == [0, 1, 2]


async def test_cancelling_the_caller_cancels_the_chunks_in_flight():
    entered = asyncio.Event()
    cancelled = []

    async def write(n: int, turn: Turn) -> None:
        turn.release_next()
        entered.set()
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            cancelled.append(n)
            raise

    task = asyncio.create_task(in_order(range(5), write))
    await entered.wait()
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert cancelled == [0, 1]
