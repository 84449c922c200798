"""The gateway's request metrics (issue 14 §5) read back through an OpenTelemetry reader:
proxied routes (the forwarding front) and the gateway's own routes (FastAPI and the kernel's
middleware) are counted, timed and their 5xx counted per route template with the status
code — never per raw path or per made-up service name, so a caller cannot mint series.

The kernel's instruments go on a MeterProvider of this test's own with an
InMemoryMetricReader (the `reader` fixture of tests/kernel/test_metrics_readback.py: the global
provider is set once per process); a fresh provider starts its sums at zero, so the counts
below are this test's requests only.
"""
from __future__ import annotations

from typing import Any

from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from gx_kernel import metrics
from gx_kernel.service import installed_wirings

from gx_gateway.application import ops

from ..kernel.test_metrics_readback import points, reader  # noqa: F401 - reader: a fixture
from .conftest import auth, login

DURATION, ERRORS = "http.server.request.duration", "gx.http.server.errors"


def series(reader: InMemoryMetricReader, name: str) -> dict[tuple[str, str, int], Any]:
    """The gateway's data points of one instrument: (method, route, status) -> point."""
    found = {}
    for attrs, p in points(reader, name).items():
        a = dict(attrs)
        if a["gx.service"] == "gateway":
            found[a["http.request.method"], a["http.route"], a["http.response.status_code"]] = p
    return found


def _snapshot() -> dict[tuple[str, str], dict]:
    return {(r["method"], r["route"]): r for r in metrics.request_snapshot("gateway")}


async def test_proxied_and_own_routes_are_measured_per_template(client, reader):
    before = _snapshot()  # the in-process table is the process's: other tests added to it
    token = (await login(client, "qu_tongji"))["access_token"]
    for unit in ("u1", "u2", "u3"):
        assert (await client.get(f"/api/v1/registry/units/{unit}",
                                 headers=auth(token))).status_code == 200
    assert (await client.get("/api/v1/registry/units/u4")).status_code == 401
    assert (await client.post("/api/v1/agri/fail/x", json={},
                              headers=auth(token))).status_code == 500
    assert (await client.get("/api/v1/population/ledgers",
                             headers=auth(token))).status_code == 503

    registry, agri, population = (f"/api/v1/{s}/{{rest}}"
                                  for s in ("registry", "agri", "population"))
    durations = series(reader, DURATION)
    assert {k: p.count for k, p in durations.items()} == {
        ("POST", "/api/v1/auth/login", 200): 1,  # the gateway's own route, via FastAPI
        ("GET", registry, 200): 3, ("GET", registry, 401): 1,
        ("POST", agri, 500): 1, ("GET", population, 503): 1}
    for p in durations.values():
        assert p.sum > 0 and sum(p.bucket_counts) == p.count
    # Errors are the 5xx only: the service's failure and the service that is down.
    assert {k: p.value for k, p in series(reader, ERRORS).items()} == {
        ("POST", agri, 500): 1, ("GET", population, 503): 1}

    snap = _snapshot()

    def added(key: tuple[str, str], field: str) -> int:
        return snap[key][field] - before.get(key, {}).get(field, 0)

    assert (added(("GET", registry), "count"), added(("GET", registry), "refused")) == (4, 1)
    assert added(("POST", agri), "errors") == 1


async def test_unknown_services_share_one_series(client, reader):
    """`/api/v1/<anything>/…` reaches FastAPI's catch-all: each made-up name must not become a
    series of its own (unbounded cardinality, in the collector and in process)."""
    token = (await login(client, "qu_tongji"))["access_token"]
    for n in range(5):
        r = await client.get(f"/api/v1/nosuch{n}/items/{n}", headers=auth(token))
        assert r.status_code in (401, 403, 404), r.text
    routes = {route for (_, route, _) in series(reader, DURATION)} - {"/api/v1/auth/login"}
    assert routes == {"/api/v1/{service}/{rest}"}, routes


def test_the_sampler_knows_the_platforms_consumer_groups(runtime):
    """The ops sampler counts each of the platform's groups from its first record, before it
    ever commits; it learns them from the AsyncAPI document (the gateway's image has the
    contracts, not the services), the same groups as the services' wiring."""
    prefix = runtime.settings.topic_prefix
    wired = {prefix + s.group_id: tuple(sorted(prefix + t for t in s.topics))
             for w in installed_wirings() for s in w.subscriptions}
    assert wired and ops.declared_groups(runtime) == wired
