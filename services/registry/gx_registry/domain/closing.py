"""关闭单位: the reasons a unit is closed for, as data (`rules/close-reasons-v1.json`), each
with the 运营状态 code the unit has once closed."""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

REASONS = Path(__file__).resolve().parent.parent / "rules" / "close-reasons-v1.json"


@dataclass(frozen=True, slots=True)
class CloseReason:
    code: str  # stable: deregistered, revoked, …
    label: str  # 注销, 吊销, …
    status: str  # 运营状态 code once closed
    description: str
    note_required: bool = False

    def as_dict(self) -> dict[str, object]:
        return {"code": self.code, "label": self.label, "status": self.status,
                "description": self.description, "note_required": self.note_required}


@dataclass(frozen=True, slots=True)
class CloseReasons:
    version: str
    reasons: tuple[CloseReason, ...]

    def get(self, code: str) -> CloseReason | None:
        return next((r for r in self.reasons if r.code == code), None)

    def labels(self) -> str:
        return "、".join(f"{r.code}（{r.label}）" for r in self.reasons)


@cache
def close_reasons() -> CloseReasons:
    d = json.loads(REASONS.read_text(encoding="utf-8"))
    return CloseReasons(d["version"], tuple(CloseReason(**r) for r in d["reasons"]))
