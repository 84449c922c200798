"""Coarse jurisdiction check at the gateway (管辖范围): division codes named in a request must
lie inside the caller's jurisdiction. Services check again against the records themselves."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from gx_contracts.divisions import contains, is_valid_code

DIVISION_FIELDS = frozenset({"division", "division_code", "scope_division", "village_code",
                             "township_code", "county_code", "city_code"})


def is_json(content_type: str | None) -> bool:
    return (content_type or "").split(";")[0].strip().endswith("json")


def named_divisions(query: Mapping[str, str], data: Any) -> Iterable[tuple[str, str]]:
    """(field, code) for every well-formed division code in the query or at the top level of
    the (already parsed, bounded) JSON body. No recursion: the body's depth does not matter."""
    for key in DIVISION_FIELDS & set(query):
        if is_valid_code(query[key]):
            yield key, query[key]
    if isinstance(data, dict):
        for key in DIVISION_FIELDS & set(data):
            if isinstance(data[key], str) and is_valid_code(data[key]):
                yield key, data[key]


def first_outside(scope: str, query: Mapping[str, str], data: Any) -> str | None:
    """The first field whose division code lies outside `scope`, or None."""
    for key, code in named_divisions(query, data):
        if not contains(scope, code):
            return key
    return None
