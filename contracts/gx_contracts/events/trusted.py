"""Trusted decoding: payloads read back from our own event store, without re-checking them.

An event in a service's store was validated when it was raised (its payload object existed
before it was appended). A rebuild reads hundreds of thousands of them back; running every
contract check again (division codes, NUL characters, item counts, lengths, patterns — most
of them Python functions called per field and per map entry) was ~80% of a replay's CPU.

``trusted_validator(model)`` is the model's own pydantic core schema with the *checks* taken
out: Python validators (``AfterValidator``, ``BeforeValidator``, ``PlainValidator``, wrap
validators of pydantic's own constraints) and the length / range / pattern constraints. What
turns JSON into Python objects stays: UUIDs, datetimes, enums, floats, nested payload models,
defaults for missing fields, unknown fields ignored. A map or list whose items need no such
conversion (text, integers, booleans, null: the JSON value is already the Python one) is
taken as it is, without copying it item by item. The result is an instance of the same class,
equal to what validating would give.

That holds because every validator in ``gx_contracts`` is a check: it returns its value
unchanged or raises (``tests/contracts/test_trusted_decode.py`` decodes a corpus of every
payload class both ways and compares); so are pydantic's length and range functions. Any
other function is kept, and so are constraints that change a value (``strip_whitespace`` …).

Never use it on input from outside the store (requests, broker records): those go through
``decode``, which validates. ``trusted_replay()`` turns it on for the code inside it (the
kernel's projection rebuild, through ``ProjectionRegistry.during_rebuild``).
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel
from pydantic_core import SchemaValidator

__all__ = ["trusted_replay", "trusting", "trusted_validator", "trusted_schema"]

_TRUSTED: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "gx_contracts_trusted_replay", default=False)

# constraints that only refuse a value (dropped); any other key of a schema is kept
_CHECKS = frozenset({"pattern", "max_length", "min_length", "ge", "le", "gt", "lt",
                     "multiple_of", "allow_inf_nan", "max_digits", "decimal_places"})
# schema types whose Python value is the JSON value itself (nothing to convert)
_AS_IS = frozenset({"str", "int", "bool", "none", "any"})
_CHANGES = frozenset({"strip_whitespace", "to_lower", "to_upper", "strict",
                      "coerce_numbers_to_str"})
# pydantic's own constraint functions (applied after a Python validator): checks; its other
# functions (IP addresses, patterns, time zones …) convert and are kept
_PYDANTIC_CHECKS = frozenset({
    "max_length_validator", "min_length_validator", "greater_than_validator",
    "greater_than_or_equal_validator", "less_than_validator", "less_than_or_equal_validator",
    "multiple_of_validator", "forbid_inf_nan_check", "max_digits_validator",
    "decimal_places_validator", "_apply_constraint_with_incompatibility_info"})
_VALIDATOR_TYPES = ("function-after", "function-before", "function-wrap", "function-plain")


@contextlib.contextmanager
def trusted_replay() -> Iterator[None]:
    """Inside: ``decode`` builds payloads without the contract checks (events of our own
    store only — see the module's note). Tasks started inside inherit it."""
    token = _TRUSTED.set(True)
    try:
        yield
    finally:
        _TRUSTED.reset(token)


def trusting() -> bool:
    """Is trusted decoding on (inside ``trusted_replay``)?"""
    return _TRUSTED.get()


@functools.cache
def trusted_validator(model: type[BaseModel]) -> SchemaValidator:
    """A validator of ``model`` that converts but does not check (cached per class)."""
    return SchemaValidator(trusted_schema(model.__pydantic_core_schema__))  # type: ignore[arg-type]


def trusted_schema(schema: Any) -> Any:
    """``schema`` (a pydantic core schema) with its checks taken out (see the module)."""
    return _strip(schema)


def _own_check(function: Any) -> bool:
    """A validator function of the contracts or of pydantic's constraints: a check."""
    fn = function.get("function") if isinstance(function, dict) else None
    while isinstance(fn, functools.partial):
        fn = fn.func
    module = getattr(fn, "__module__", "") or ""
    return module.startswith("gx_contracts.") or (
        module.startswith("pydantic._internal.") and getattr(fn, "__name__", "") in _PYDANTIC_CHECKS)


def _strip(node: Any) -> Any:
    if isinstance(node, list):
        return [_strip(v) for v in node]
    if isinstance(node, tuple):
        return tuple(_strip(v) for v in node)
    if not isinstance(node, dict):
        return node
    kind = node.get("type")
    if not isinstance(kind, str):  # not a schema: a mapping (e.g. of fields, by name)
        return {k: _strip(v) for k, v in node.items()}
    if kind in _VALIDATOR_TYPES and _own_check(node.get("function")):
        # a check: what it wraps (a plain validator wraps nothing: the value as it is)
        return _strip(node["schema"]) if "schema" in node else {"type": "any"}
    if kind == "model":
        return _model(node)
    stripped = {k: _strip(v) for k, v in node.items() if k != "metadata" and k not in _CHECKS}
    if kind in ("dict", "list") and _as_is(stripped):
        return {"type": "any"}
    return stripped


_SAFE_CONFIG = frozenset({"title", "extra_fields_behavior"})


def _model(node: dict[str, Any]) -> Any:
    """A payload model's fields, stripped, then the instance built from them as pydantic
    builds it. (A `model` schema would not do: pydantic-core takes the class's own prebuilt
    validator, checks and all, for any model schema naming a finished class.)"""
    cls, config, inner = node["cls"], node.get("config") or {}, node["schema"]
    if (node.get("root_model") or node.get("custom_init") or node.get("post_init")
            or inner.get("type") != "model-fields" or not _SAFE_CONFIG.issuperset(config)
            or getattr(cls, "__private_attributes__", None)):
        return node  # anything unusual: validated as it is
    if not _costly(inner):
        return node  # checks in Rust only: the class's own validator is the fastest
    fields = _strip(inner)
    fields["extra_behavior"] = config.get("extra_fields_behavior", "ignore")
    return {"type": "function-after", "schema": fields,
            "function": {"type": "no-info", "function": functools.partial(_instance, cls)}}


def _costly(node: Any) -> bool:
    """Does validating this schema call Python or copy a map or list item by item?"""
    if isinstance(node, (list, tuple)):
        return any(_costly(v) for v in node)
    if not isinstance(node, dict):
        return False
    if node.get("type") in (*_VALIDATOR_TYPES, "dict", "list"):
        return True
    return any(_costly(v) for k, v in node.items() if k not in ("metadata", "serialization"))


def _instance(cls: type[BaseModel], validated: tuple[dict[str, Any], Any, set[str]]
              ) -> BaseModel:
    """The model from its validated fields (as pydantic-core's model validator sets it)."""
    values, extra, fields_set = validated
    obj = cls.__new__(cls)
    object.__setattr__(obj, "__dict__", values)
    object.__setattr__(obj, "__pydantic_extra__", extra)
    object.__setattr__(obj, "__pydantic_fields_set__", fields_set)
    object.__setattr__(obj, "__pydantic_private__", None)
    return obj


def _as_is(node: Any) -> bool:
    """Is a JSON value valid for this schema its own Python value (no conversion)?"""
    if not isinstance(node, dict) or _CHANGES & node.keys():
        return False
    kind = node.get("type")
    if not isinstance(kind, str):
        return False
    if kind in _AS_IS:
        return True
    if kind == "nullable":
        return _as_is(node["schema"])
    if kind == "union":
        return all(_as_is(c[0] if isinstance(c, tuple) else c) for c in node["choices"])
    if kind == "list":
        return "items_schema" not in node or _as_is(node["items_schema"])
    if kind == "dict":
        return all(_as_is(node[k]) for k in ("keys_schema", "values_schema") if k in node)
    if kind == "literal":
        return all(isinstance(v, (str, int, bool)) or v is None for v in node["expected"])
    return False
