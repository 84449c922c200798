"""规范化建设考核: versioned criteria with weights and the weighted total. Pure.

The shipped criteria are ILLUSTRATIVE (示例): the real 考核标准 is not in the seeds. A new
standard is a new version in data/assessment_criteria.json; scores keep the version they used.
"""
from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "data" / "assessment_criteria.json"


@dataclass(frozen=True)
class Criterion:
    code: str
    name: str
    weight: float  # points out of 100


@dataclass(frozen=True)
class Criteria:
    version: int
    title: str
    illustrative: bool
    model_standard_min: float
    criteria: tuple[Criterion, ...]

    def total(self, scores: dict[str, float]) -> float:
        """Weighted total (0..100): each score is 0..100 of its criterion's weight."""
        return round(sum(c.weight * scores.get(c.code, 0.0) / 100 for c in self.criteria), 2)

    def unknown(self, scores: dict[str, float]) -> list[str]:
        codes = {c.code for c in self.criteria}
        return [k for k in scores if k not in codes]

    def missing(self, scores: dict[str, float]) -> list[str]:
        return [c.code for c in self.criteria if c.code not in scores]

    def reaches_model(self, total: float) -> bool:
        return total >= self.model_standard_min

    def as_dict(self) -> dict[str, object]:
        return {"version": self.version, "title": self.title, "illustrative": self.illustrative,
                "model_standard_min": self.model_standard_min,
                "criteria": [{"code": c.code, "name": c.name, "weight": c.weight}
                             for c in self.criteria]}


@functools.cache
def all_versions() -> tuple[Criteria, ...]:
    raw = json.loads(DATA.read_text(encoding="utf-8"))
    return tuple(Criteria(int(v["version"]), str(v["title"]), bool(v["illustrative"]),
                          float(v["model_standard_min"]),
                          tuple(Criterion(str(c["code"]), str(c["name"]), float(c["weight"]))
                                for c in v["criteria"]))
                 for v in raw["versions"])


def latest() -> Criteria:
    return max(all_versions(), key=lambda c: c.version)


def get(version: int) -> Criteria | None:
    return next((c for c in all_versions() if c.version == version), None)
