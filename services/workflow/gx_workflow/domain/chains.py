"""Review chain configuration (审核链配置): data per submission kind, versioned. Pure."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gx_contracts.divisions import Level

DEFAULT_CHAINS_FILE = Path(__file__).resolve().parent.parent / "chains.json"
_REVIEW_LEVELS = (Level.township, Level.county, Level.city, Level.region)
DEFAULT_PROFILE = "standard"


@dataclass(frozen=True)
class ChainConfig:
    """审核链：哪些层级参与、谁最终验收（确认）、谁可提前验收（数据验收，之后报最终层级确认）、
    谁同步监测（watch：在审核中或提前验收后可退回）、各层级时限. ``profile`` names the
    configuration set it belongs to (``standard``, ``strict``; see chains.json)."""

    subject_kind: str
    version: int
    levels: tuple[Level, ...]
    final_level: Level
    early_accept_levels: tuple[Level, ...] = ()
    deadline_seconds: dict[Level, int] = field(default_factory=dict)
    title_zh: str = ""
    watch_levels: tuple[Level, ...] = ()
    profile: str = DEFAULT_PROFILE

    def __post_init__(self) -> None:
        levels = self.levels
        if not levels or any(lv not in _REVIEW_LEVELS for lv in levels):
            raise ValueError(f"{self.subject_kind}: levels must be review levels, got {levels}")
        if list(levels) != sorted(levels, key=lambda lv: lv.rank) or len(set(levels)) != len(levels):
            raise ValueError(f"{self.subject_kind}: levels must climb strictly: {levels}")
        if self.final_level not in levels:
            raise ValueError(f"{self.subject_kind}: final level {self.final_level} not in chain")
        if levels.index(self.final_level) != len(levels) - 1:
            raise ValueError(f"{self.subject_kind}: the final level must be the top of the chain")
        for lv in self.early_accept_levels:
            if lv not in levels or lv == self.final_level:
                raise ValueError(f"{self.subject_kind}: early-accept level {lv} must be a lower "
                                 "level of the chain")
        for lv in self.watch_levels:
            if lv not in _REVIEW_LEVELS or not levels[0].rank < lv.rank < self.final_level.rank:
                raise ValueError(f"{self.subject_kind}: watch level {lv} must lie between the "
                                 "first and the final level")
        if any(s < 0 for s in self.deadline_seconds.values()):
            raise ValueError(f"{self.subject_kind}: deadlines must be >= 0 seconds")

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ChainConfig:
        return cls(subject_kind=d["subject_kind"], version=int(d.get("version", 1)),
                   levels=tuple(Level(x) for x in d["levels"]),
                   final_level=Level(d.get("final_level") or d["levels"][-1]),
                   early_accept_levels=tuple(Level(x) for x in d.get("early_accept_levels", ())),
                   deadline_seconds={Level(k): int(v)
                                     for k, v in (d.get("deadline_seconds") or {}).items()},
                   title_zh=d.get("title_zh", ""),
                   watch_levels=tuple(Level(x) for x in d.get("watch_levels", ())),
                   profile=d.get("profile") or DEFAULT_PROFILE)

    def to_dict(self) -> dict[str, Any]:
        return {"subject_kind": self.subject_kind, "version": self.version,
                "title_zh": self.title_zh, "levels": [lv.value for lv in self.levels],
                "final_level": self.final_level.value,
                "early_accept_levels": [lv.value for lv in self.early_accept_levels],
                "deadline_seconds": {k.value: v for k, v in self.deadline_seconds.items()},
                "watch_levels": [lv.value for lv in self.watch_levels], "profile": self.profile}


def load_chain_file(path: str | Path | None = None) -> list[ChainConfig]:
    """Chains from the seed file (default: the packaged chains.json)."""
    raw = json.loads(Path(path or DEFAULT_CHAINS_FILE).read_text(encoding="utf-8"))
    return [ChainConfig.from_dict(d) for d in raw["chains"]]


def pick_chain(chains: list[ChainConfig], kind: str, profile: str = DEFAULT_PROFILE
               ) -> ChainConfig | None:
    """The chain a new case of `kind` follows: the latest version in `profile`, else the
    latest in the standard profile (as adapters/schema.current_chain selects in SQL)."""
    for wanted in dict.fromkeys((profile, DEFAULT_PROFILE)):
        mine = [c for c in chains if c.subject_kind == kind and c.profile == wanted]
        if mine:
            return max(mine, key=lambda c: c.version)
    return None
