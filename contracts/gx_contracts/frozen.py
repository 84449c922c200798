"""A faster `dataclasses.replace` for frozen dataclasses folded once per event."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields
from typing import Any, TypeVar

T = TypeVar("T")


def replacer(cls: type[T]) -> Callable[..., T]:
    """`replace(obj, **changes)` for exactly `cls`: copies the fields and sets the changed ones
    without re-running the frozen __init__ (~5–10x faster; a rebuild folds every event through
    it). Unknown field names raise TypeError, as `dataclasses.replace` does."""
    names = frozenset(f.name for f in fields(cls))  # type: ignore[arg-type]

    def replace(obj: T, **changes: Any) -> T:
        unknown = changes.keys() - names
        if unknown:
            raise TypeError(f"{cls.__name__} has no field {sorted(unknown)}")
        new: T = object.__new__(cls)
        new.__dict__.update(obj.__dict__)
        new.__dict__.update(changes)
        return new

    return replace
