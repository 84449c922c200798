"""Coarse jurisdiction check at the gateway (管辖范围): division codes named in a request must
lie inside the caller's jurisdiction. Services check again against the records themselves."""
from __future__ import annotations

import json
from typing import Any, Iterable, Mapping

from gx_contracts.divisions import contains, is_valid_code

DIVISION_FIELDS = frozenset({"division", "division_code", "scope_division", "village_code",
                             "township_code", "county_code", "city_code"})


def named_divisions(query: Mapping[str, str], body: bytes, content_type: str | None
                    ) -> Iterable[tuple[str, str]]:
    """(field, code) for every well-formed division code in the query or top-level JSON body."""
    for key in DIVISION_FIELDS & set(query):
        if is_valid_code(query[key]):
            yield key, query[key]
    if body and (content_type or "").split(";")[0].strip().endswith("json"):
        try:
            data: Any = json.loads(body)
        except ValueError:
            return  # the service answers 422 for malformed JSON
        if isinstance(data, dict):
            for key in DIVISION_FIELDS & set(data):
                if is_valid_code(data[key]):
                    yield key, data[key]


def first_outside(scope: str, query: Mapping[str, str], body: bytes,
                  content_type: str | None) -> str | None:
    """The first field whose division code lies outside `scope`, or None."""
    for key, code in named_divisions(query, body, content_type):
        if not contains(scope, code):
            return key
    return None
