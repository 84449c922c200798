"""Every payload model of the contracts has a name of its own: the AsyncAPI document keys its
schemas by class name, so two `ReviewStep`s would make the generated file differ run to run."""
from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest
from pydantic import BaseModel

import gx_contracts.commands
import gx_contracts.events

pytestmark = pytest.mark.unit


def test_no_two_contract_models_share_a_name():
    seen: dict[str, str] = {}
    clashes = []
    for package in (gx_contracts.events, gx_contracts.commands):
        for info in pkgutil.iter_modules(package.__path__):
            module = importlib.import_module(f"{package.__name__}.{info.name}")
            for name, obj in vars(module).items():
                if (inspect.isclass(obj) and issubclass(obj, BaseModel)
                        and obj.__module__ == module.__name__):
                    where = f"{obj.__module__}.{name}"
                    if name in seen and seen[name] != where:
                        clashes.append((seen[name], where))
                    seen.setdefault(name, where)
    assert not clashes, clashes
