"""Numbers as stored, summed and printed, with bounded precision.

Values inside the catalogue's physical ranges sum exactly (Decimal, 60 digits covers any total
of them). A value stored before the ranges existed may be anything JSON allows (1e30, 1e300):
it is rounded as a float instead of failing a 28-digit `quantize`, and one that no float can
hold is shown as absent rather than breaking the answer.
"""
from __future__ import annotations

import math
from decimal import Context, Decimal, InvalidOperation
from typing import Any

_CTX = Context(prec=60)


def as_decimal(value: Any) -> Decimal | None:
    """A finite Decimal, or None for null, bool, text or non-finite input."""
    if value is None or isinstance(value, bool):
        return None
    try:
        d = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return d if d.is_finite() else None


def quantized(d: Decimal, decimals: int) -> Decimal:
    """d to `decimals` places; a number too long for that is kept as it is (never an error)."""
    if d.is_finite() and d.adjusted() + decimals + 2 <= _CTX.prec:
        return d.quantize(Decimal(1).scaleb(-decimals), context=_CTX)
    return d


def rounded(value: Any, decimals: int) -> int | float | None:
    """The value rounded to the indicator's decimals: int for 0 decimals, else float."""
    d = as_decimal(value)
    if d is None:
        return None
    if d.adjusted() + decimals + 2 <= _CTX.prec:
        q = quantized(d, decimals)
        return int(q) if decimals == 0 else float(q)
    f = float(d)  # far outside any physical range: no exact digits to keep
    return f if math.isfinite(f) else None


def text(value: Any, decimals: int) -> str:
    """As printed on paper: fixed decimals; scientific notation beyond 20 digits."""
    d = as_decimal(value)
    if d is None:
        return "" if value is None or value == "" else str(value)[:40]
    if d.adjusted() < 20:
        return f"{quantized(d, decimals):f}"
    return f"{d:.6E}"

