"""Why a review action is refused, in the domain's terms (pure; the API maps them to HTTP)."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class CaseRefused(Exception):
    """A refused action: stable machine code, Chinese message, the fields at fault."""

    code: str
    message: str
    errors: list[dict[str, str]] = field(default_factory=list)  # [{field, message}]

    def __post_init__(self) -> None:
        super().__init__(self.message)


class NotPermitted(CaseRefused):
    """The actor may not act on this case at all (jurisdiction, role)."""


class NotYourTurn(CaseRefused):
    """The actor reviews this chain, but the case is not at their level now."""


class InvalidTransition(CaseRefused):
    """The action does not fit the case's state."""


class InvalidInput(CaseRefused):
    """What the actor sent does not fit this case (e.g. notes on indicators not in the form)."""


@dataclass
class StaleVersion(Exception):
    """The actor saw an older version of the case than the current one."""

    stream_id: str
    expected: int
    actual: int
