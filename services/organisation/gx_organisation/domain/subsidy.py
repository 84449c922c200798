"""工作补助: the amount due to one person for one month, from the rates in force. Pure.

Rates are data per year and division (a division without its own uses the nearest above).
`monthly`: a fixed sum for each month the appointment is active in (any day counts);
`per_unit`: by actual workload (grid workers' 交通、通信及误工补助, 42号 五(二)).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class Rate:
    role: str
    basis: str  # monthly | per_unit
    amount: float


def month_bounds(period: str) -> tuple[date, date]:
    """First and last day of a YYYY-MM period."""
    y, m = int(period[:4]), int(period[5:7])
    first = date(y, m, 1)
    nxt = date(y + (m == 12), m % 12 + 1, 1)
    return first, date.fromordinal(nxt.toordinal() - 1)


def active_in(start: date, end: date | None, period: str) -> bool:
    first, last = month_bounds(period)
    return start <= last and (end is None or end >= first)


def amount_due(rate: Rate | None, start: date, end: date | None, period: str,
               units: int) -> float:
    """元 due for the month (0 when no rate, or the appointment is not active then)."""
    if rate is None or not active_in(start, end, period):
        return 0.0
    if rate.basis == "monthly":
        return round(rate.amount, 2)
    return round(rate.amount * units, 2)


def rate_for(rates_by_division: dict[str, list[Rate]], division_code: str,
             role: str) -> Rate | None:
    """The rate of the nearest division at or above `division_code` that sets one for `role`
    (keys are jurisdiction prefixes: 2, 4, 6, 9 or 12 digits)."""
    for n in (12, 9, 6, 4, 2):
        for r in rates_by_division.get(division_code[:n], []):
            if r.role == role:
                return r
    return None
