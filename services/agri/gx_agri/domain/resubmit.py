"""重新报送: after a return with field notes, each note is answered by a change or an explanation."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gx_agri.domain.numbers import as_decimal


@dataclass(frozen=True)
class Answers:
    changed: list[str]  # indicators whose value differs from the returned submission
    answered: dict[str, str]  # noted indicator -> its explanation (核实无误的说明), value unchanged
    unanswered: list[str]  # noted indicators neither changed nor explained


def _same(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    da, db = as_decimal(a), as_decimal(b)
    return da == db if da is not None and db is not None else a == b


def changed(before: Mapping[str, Any], now: Mapping[str, Any]) -> list[str]:
    """Indicator codes whose value differs (100 and 100.0 are the same value)."""
    return sorted(k for k in set(before) | set(now) if not _same(before.get(k), now.get(k)))


def answer_notes(notes: Mapping[str, str], before_values: Mapping[str, Any],
                 before_explanations: Mapping[str, str], values: Mapping[str, Any],
                 explanations: Mapping[str, str]) -> Answers:
    """A note is answered when its indicator's value changed, or when it carries an explanation
    that was not already there in the returned submission."""
    diff = changed(before_values, values)
    answered: dict[str, str] = {}
    unanswered: list[str] = []
    for code in notes:
        if code in diff:
            continue
        text = (explanations.get(code) or "").strip()
        if text and text != (before_explanations.get(code) or "").strip():
            answered[code] = explanations[code]
        else:
            unanswered.append(code)
    return Answers(diff, answered, unanswered)
