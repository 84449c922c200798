"""Bulk work in a long-lived process: the cycle collector kept off the heap it already had.

An import makes and drops millions of objects; each of the collector's full passes walks
every object of the process (the application, its modules, caches), and on a 300,000-row
register import 67 of them took 6.9 s of its 65 s. Inside `bulk_work()` the heap as it was is
frozen (`gc.freeze`: never scanned, never freed by the collector until the last bulk work
ends) and the youngest generation collects far less often (a chunk of rows in flight is
hundreds of thousands of objects: each pass walked them); reference counting frees the rest as
always. Nested or concurrent bulk work in one process shares one freeze.
"""
from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

_active = 0
_saved: tuple[int, int, int] = gc.get_threshold()


@contextlib.contextmanager
def bulk_work(young_threshold: int = 500_000) -> Iterator[None]:
    """Run the block with the heap frozen and generation 0 collected every
    `young_threshold` allocations (the default is 700)."""
    global _active, _saved
    if _active == 0:
        _saved = gc.get_threshold()
        gc.freeze()
        gc.set_threshold(max(young_threshold, _saved[0]), _saved[1], _saved[2])
    _active += 1
    try:
        yield
    finally:
        _active -= 1
        if _active == 0:
            gc.set_threshold(*_saved)
            gc.unfreeze()  # what was kept is collectable again, at the next passes
