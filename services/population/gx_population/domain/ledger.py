"""人口信息指标台账: a village's monthly figures from change reports plus adjustments (pure).

Stocks carry over from month to month; flows are the month's own (inference from the usual
village ledger layout):
  births, deaths                = the month's birth/death reports + adjustments
  户籍人口 registered           = last month's + births − deaths + adjustments
  外出人口 out_migrants         = last month's + move-out reports + adjustments
  外来人口 in_migrants          = last month's + move-in reports + adjustments
  常住人口 resident             = registered − out_migrants + in_migrants + adjustments
  户数 households               = last month's + adjustments
An opening balance is an adjustment with its reason (e.g. “期初数：2025年底户籍统计”).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

INDICATORS = ("households", "registered", "resident", "out_migrants", "in_migrants", "births",
              "deaths")
_FROM_CHANGE = {"birth": "births", "death": "deaths", "move_in": "in_migrants",
                "move_out": "out_migrants"}


MAX_MONTHS = 1200  # a century of monthly rows: the most a ledger ever lists


def months_until(first: str, last: str) -> list[str]:
    """'YYYY-MM' months from first to last, inclusive (at most the last MAX_MONTHS)."""
    start = int(first[:4]) * 12 + int(first[5:7]) - 1
    end = int(last[:4]) * 12 + int(last[5:7]) - 1
    start = max(start, end - MAX_MONTHS + 1)
    return [f"{n // 12:04d}-{n % 12 + 1:02d}" for n in range(start, end + 1)]


def monthly(months: Sequence[str], changes: Mapping[tuple[str, str], int],
            adjustments: Mapping[tuple[str, str], int]) -> list[dict[str, int | str]]:
    """One row per month: `changes[(month, kind)]` counts, `adjustments[(month, indicator)]`."""
    rows: list[dict[str, int | str]] = []
    stock = {"households": 0, "registered": 0, "out_migrants": 0, "in_migrants": 0}
    for month in months:
        flow = {ind: adjustments.get((month, ind), 0) for ind in INDICATORS}
        for kind, ind in _FROM_CHANGE.items():
            flow[ind] += changes.get((month, kind), 0)
        stock["households"] += flow["households"]
        stock["registered"] += flow["births"] - flow["deaths"] + flow["registered"]
        stock["out_migrants"] += flow["out_migrants"]
        stock["in_migrants"] += flow["in_migrants"]
        resident = (stock["registered"] - stock["out_migrants"] + stock["in_migrants"]
                    + sum(adjustments.get((m, "resident"), 0) for m in months if m <= month))
        rows.append({"month": month, **stock, "resident": resident, "births": flow["births"],
                     "deaths": flow["deaths"]})
    return rows


def roll_up(rows: Iterable[Mapping[str, int | str]]) -> dict[str, int]:
    """The sum of villages' rows of one month (a township's or county's ledger)."""
    total = dict.fromkeys(INDICATORS, 0)
    for r in rows:
        for ind in INDICATORS:
            v = r.get(ind, 0)
            total[ind] += v if isinstance(v, int) else 0
    return total


def discrepancies(registered: Mapping[str, int], admin: Mapping[str, int],
                  tolerance: float) -> list[dict[str, int | float | str]]:
    """复查: indicators whose registered figure differs from the administrative one by more
    than `tolerance` (a fraction of the administrative figure, at least 1 person/household)."""
    out: list[dict[str, int | float | str]] = []
    for ind, adm in admin.items():
        reg = registered.get(ind, 0)
        allowed = max(1.0, tolerance * adm) if tolerance > 0 else 0.0
        diff = reg - adm
        if abs(diff) > allowed:
            out.append({"indicator": ind, "registered": reg, "administrative": adm,
                        "difference": diff, "allowed": allowed})
    return out
