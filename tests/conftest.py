"""Shared test infrastructure: one PostgreSQL + one Kafka-compatible broker per session.

Embedded PostgreSQL + Tansu by default; PostgreSQL + Apache Kafka in Docker (testcontainers)
when an engine answers and the package is installed, or GX_TEST_INFRA=containers
(gx_devstack.containers). DATABASE_URL / KAFKA_BOOTSTRAP_SERVERS, when set, are used instead
(nothing is started). Suites add their own fixtures in their folder's conftest.py.
"""
import os
from pathlib import Path

import pytest

from gx_devstack import containers

from . import hypothesis_budget

TEST_DATA_DIR = Path(__file__).resolve().parent.parent / ".data" / "test-infra"
_ENV_KEYS = ("DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS", "KAFKA_ENABLE_IDEMPOTENCE")


@pytest.fixture(scope="session")
def infra():
    saved = {k: os.environ.get(k) for k in _ENV_KEYS}
    started, _ = containers.start_test_infra(TEST_DATA_DIR)
    with started:
        for key, value in containers.env_for_tests(started).items():
            if key == "KAFKA_ENABLE_IDEMPOTENCE" and saved[key] is not None:
                continue  # the user's choice wins
            os.environ[key] = value
        try:
            yield started
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


# One tracer provider for the whole session (OpenTelemetry allows one per process); spans
# land in memory so trace tests can inspect them.
from opentelemetry import trace as _trace  # noqa: E402
from opentelemetry.sdk.trace import TracerProvider as _TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import SimpleSpanProcessor as _Simple  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (  # noqa: E402
    InMemorySpanExporter as _InMemory,
)

SPANS = _InMemory()
_provider = _TracerProvider()
_provider.add_span_processor(_Simple(SPANS))
_trace.set_tracer_provider(_provider)


@pytest.fixture
def spans():
    """Spans finished during the test (the exporter is cleared first)."""
    SPANS.clear()
    return SPANS


@pytest.fixture(scope="module")
async def stack(infra):
    """The whole system in-process (tests/e2e/stack.py), one per test module."""
    from .e2e.stack import running_stack

    async with running_stack(infra) as s:
        yield s


# -- test kinds (markers registered in pyproject.toml) ----------------------------------------
_KINDS = ("unit", "integration", "e2e", "browser")
_TESTS_DIR = Path(__file__).resolve().parent


def _kind(item: pytest.Item) -> str:
    folder = Path(item.path).resolve().relative_to(_TESTS_DIR).parts[0]
    fixtures = set(getattr(item, "fixturenames", ()))  # the whole closure, indirect ones too
    if folder == "browser":
        return "browser"
    if folder == "e2e" or "stack" in fixtures:
        return "e2e"
    # deploy: renders and validates manifests with external tools (kubectl, compose), slow
    if folder == "deploy" or "infra" in fixtures:
        return "integration"
    return "unit"


_NEVER_UNIT = {"browser", "e2e", "deploy"}  # folders _kind never calls unit


def pytest_configure(config):
    """`-m unit` (make test-unit) runs each Hypothesis property on a quarter of its examples
    (tests/hypothesis_budget.py) unless --hypothesis-profile says otherwise."""
    if config.getoption("markexpr") == "unit" and not config.getoption("hypothesis_profile",
                                                                        None):
        hypothesis_budget.settings.load_profile("unit")


def pytest_report_header(config):
    """Which infrastructure the session would start (not for `-m unit`, which starts none)."""
    if config.getoption("markexpr") == "unit":
        return None
    try:
        choice = containers.choose(os.environ, docker=containers.docker_reachable,
                                   have_testcontainers=containers.have_testcontainers)
    except containers.InfraUnavailable as exc:
        return f"gx infra: {exc}"
    return f"gx infra: {choice.backend} ({choice.reason})"


def pytest_ignore_collect(collection_path, config):
    """`-m unit` does not even import the folders that cannot hold a unit test."""
    if (config.getoption("markexpr") == "unit" and collection_path.parent == _TESTS_DIR
            and collection_path.name in _NEVER_UNIT):
        return True
    return None


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by these marks
def pytest_collection_modifyitems(config, items):
    """Mark each test by what it needs, unless it says so itself: `-m unit` runs no infra."""
    for item in items:
        if not any(item.get_closest_marker(kind) for kind in _KINDS):
            item.add_marker(getattr(pytest.mark, _kind(item)))
