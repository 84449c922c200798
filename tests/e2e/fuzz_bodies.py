"""Hypothesis strategies for hostile request bodies (issue 8): deep nesting, long strings,
NUL and lone surrogates, non-finite numbers, wrong types, huge integers — alone, or put into
an otherwise valid body of the endpoint in place of one of its fields."""
from __future__ import annotations

import json
import re
from typing import Any

from hypothesis import strategies as st

# Values the issue found breaking something, and their relatives.
NASTY_TEXT = st.one_of(
    st.text(max_size=20).map(lambda s: s + "\x00"),
    st.text(max_size=20).map(lambda s: "\x00" + s + "\ud800"),
    st.integers(200, 400_000).map(lambda n: "字" * n),
    st.integers(1000, 100_000).map(lambda n: "x" * n),
    st.sampled_from(["", " ", "\u202e", "../../etc/passwd", "%00", "NaN", "1e30", "true", "100"]),
)
NASTY_NUMBER = st.one_of(
    st.sampled_from([float("nan"), float("inf"), float("-inf"), 1e30, -1e30, 1e308, 5e-324,
                     10 ** 20, 10 ** 30, -(10 ** 20), 2 ** 31, 2 ** 63, 2 ** 64, -1, 0]),
    st.integers(), st.floats(allow_nan=True, allow_infinity=True),
)
WRONG_TYPE = st.one_of(st.none(), st.booleans(), st.lists(st.integers(), max_size=3),
                       st.dictionaries(st.text(max_size=5), st.integers(), max_size=3))
LEAF = st.one_of(NASTY_TEXT, NASTY_NUMBER, WRONG_TYPE)


def deep(depth: int, kind: str) -> str:
    if kind == "list":
        return "[" * depth + "]" * depth
    return '{"a":' * depth + "1" + "}" * depth


# JSON text that no json.dumps would write: nesting far past any bound, a 5,000-digit integer
# (Python refuses to parse one by default), a truncated body, a byte-order mark, invalid UTF-8.
DEEP = st.tuples(st.integers(33, 20_000), st.sampled_from(["list", "object"])).map(
    lambda t: deep(*t))
RAW = st.one_of(
    DEEP.map(str.encode),
    st.integers(4000, 6000).map(lambda n: b'{"expected_version": ' + b"9" * n + b"}"),
    st.sampled_from([b"", b"{", b'{"a": 1,', b"\xef\xbb\xbf{}", b'{"a": "\xff\xfe"}', b"null",
                     b"[]", b'"text"', b"1e999", b'{"a": NaN}', b'{"a": -Infinity}']),
)


def encode(value: Any, ascii_only: bool) -> bytes:
    """JSON as a careless client would send it: NaN/Infinity tokens, lone surrogates raw."""
    return json.dumps(value, allow_nan=True, ensure_ascii=ascii_only).encode(
        "utf-8", "surrogatepass")


def _leaf_paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    if isinstance(value, dict) and value:
        out = [prefix + (k,) for k in value]  # the field itself, or one inside it
        for k, v in value.items():
            out += _leaf_paths(v, prefix + (k,))
        return out
    return []


def _replace(value: Any, path: tuple, new: Any) -> Any:
    if not path:
        return new
    copy = dict(value)
    copy[path[0]] = _replace(copy.get(path[0], {}), path[1:], new)
    return copy


def mutated(base: dict[str, Any]) -> st.SearchStrategy[Any]:
    """`base` with one field (at any depth) replaced by a nasty value, or one key added."""
    paths = _leaf_paths(base)
    replace = st.tuples(st.sampled_from(paths), LEAF).map(
        lambda pv: _replace(base, *pv)) if paths else st.nothing()
    extra_key = st.tuples(NASTY_TEXT, LEAF).map(lambda kv: {**base, kv[0]: kv[1]})
    return st.one_of(replace, extra_key)


def bodies(base: dict[str, Any] | None) -> st.SearchStrategy[bytes]:
    """Raw request bodies for an endpoint whose valid body looks like `base`."""
    structured = st.one_of(mutated(base) if base else st.nothing(), LEAF,
                           st.recursive(LEAF, lambda kids: st.lists(kids, max_size=3)
                                        | st.dictionaries(NASTY_TEXT, kids, max_size=3),
                                        max_leaves=8))
    as_json = st.tuples(structured, st.booleans()).map(lambda t: encode(*t))
    return st.one_of(as_json, as_json, RAW)


def normalised(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path)
