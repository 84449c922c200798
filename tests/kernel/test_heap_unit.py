"""bulk_work: the heap frozen and generation 0 collected less often inside it, nested bulk
work sharing one freeze, everything put back when the last one ends (also on an error)."""
import gc

import pytest

from gx_kernel.heap import bulk_work


def test_the_heap_is_frozen_inside_and_released_after():
    before, frozen_before = gc.get_threshold(), gc.get_freeze_count()
    with bulk_work(young_threshold=12_345):
        assert gc.get_freeze_count() > frozen_before
        assert gc.get_threshold() == (max(12_345, before[0]), before[1], before[2])
        with bulk_work():  # nested (or a second import at once): the same freeze
            assert gc.get_threshold()[0] == max(12_345, before[0])
        assert gc.get_freeze_count() > frozen_before  # the outer one still runs
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_an_error_inside_puts_everything_back():
    before = gc.get_threshold()
    with pytest.raises(RuntimeError), bulk_work():
        raise RuntimeError("import failed")
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0
