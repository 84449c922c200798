"""Fixtures of the deploy suite: the rendered production overlay."""
import pytest

from .k8s_facts import KUSTOMIZATIONS
from .k8s_render import key, render


@pytest.fixture(scope="module")
def prod() -> dict[tuple[str, str], dict]:
    return {key(d): d for d in render(KUSTOMIZATIONS[1])}
