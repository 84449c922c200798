"""Which other personal records name an erased person (pure): roster lines (户主姓名底册 —
the household head's line in the household's area), change reports of the village (人口变动
报告) and post-enumeration check persons of the area (事后质量抽查). The ID number decides when
both records carry one; otherwise the name, with sex and birth month where both carry them."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def _v(record: Mapping[str, Any], key: str) -> str:
    value = record.get(key)
    return str(value).strip().upper() if value not in (None, "") else ""


def names_person(record: Mapping[str, Any], person: Mapping[str, Any]) -> bool:
    """Does the opened `record` name the opened `person`?"""
    rid, pid = _v(record, "id_number"), _v(person, "id_number")
    if rid and pid:
        return rid == pid
    if not _v(record, "name") or _v(record, "name") != _v(person, "name"):
        return False
    return all(not _v(record, k) or not _v(person, k) or _v(record, k) == _v(person, k)
               for k in ("sex", "birth_year_month"))


def is_head(person: Mapping[str, Any]) -> bool:
    return _v(person, "relationship") == "0"
