"""OpenTelemetry metrics of the kernel: requests per route, relays, consumers, dead letters.

- `http.server.request.duration` (histogram, seconds; attributes method, route template,
  status code, service) and `gx.http.server.errors` (5xx) per route, from a plain ASGI
  middleware (`RequestMetricsMiddleware`); the same figures are kept in process
  (`request_snapshot`) so an ops page shows them without a collector.
- `gx.relay.lag` (events in the store not yet published) and `gx.relay.stuck` (1 while an
  event cannot be published): observable gauges read from in-process state the relay keeps
  current; `gx.relay.publish_failures` counts failed tries.
- `gx.consumer.lag` (records on a topic not yet committed by a group, the deployment's own
  groups counted before their first commit too) and `gx.dlq.depth` (records on a dead-letter
  topic): observable gauges over the last sample a caller took with `sample_broker` (one
  sampler per deployment is enough: the broker's view is global).
Instruments live on the global meter (a proxy until a provider is installed); tests may add
them to their own provider.
"""
from __future__ import annotations

import bisect
import contextlib
import logging
import os
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from opentelemetry import metrics
from opentelemetry.metrics import CallbackOptions, Counter, Histogram, Meter, Observation

log = logging.getLogger(__name__)


@dataclass
class RelayGauge:
    service: str
    relay: str
    lag: int = 0
    stuck: bool = False

    @property
    def attributes(self) -> dict[str, str]:
        return {"gx.service": self.service, "gx.relay": self.relay}


_relays: dict[tuple[str, str], RelayGauge] = {}
_failure_counters: list[Counter] = []


def relay_gauge(service: str, relay: str) -> RelayGauge:
    """The gauge state of one relay (created on first use, reported while registered)."""
    return _relays.setdefault((service, relay), RelayGauge(service, relay))


def forget_relay(service: str, relay: str) -> None:
    _relays.pop((service, relay), None)


def count_failure(service: str, relay: str, error: str) -> None:
    for counter in _failure_counters:
        counter.add(1, {"gx.service": service, "gx.relay": relay, "error.type": error})


def _lag(_: CallbackOptions) -> Iterable[Observation]:
    return [Observation(g.lag, g.attributes) for g in list(_relays.values())]


def _stuck(_: CallbackOptions) -> Iterable[Observation]:
    return [Observation(int(g.stuck), g.attributes) for g in list(_relays.values())]


# -- requests per route -----------------------------------------------------------------------

BOUNDS_S = (0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
"""Histogram bucket bounds (seconds) for the in-process figures and the OTel histogram."""


@dataclass
class RouteStats:
    """One route's requests since the process started (in-process, for the ops page)."""

    count: int = 0
    errors: int = 0  # 5xx: the service failed
    refused: int = 0  # 4xx: the caller's request was refused
    seconds: float = 0.0
    buckets: list[int] = field(default_factory=lambda: [0] * (len(BOUNDS_S) + 1))

    def add(self, status: int, seconds: float) -> None:
        self.count += 1
        self.errors += status >= 500
        self.refused += 400 <= status < 500
        self.seconds += seconds
        self.buckets[bisect.bisect_left(BOUNDS_S, seconds)] += 1

    def quantile(self, q: float) -> float | None:
        """Upper bound (seconds) of the bucket holding the q-quantile; None without data
        (over the last bound: that bound, a floor)."""
        if not self.count:
            return None
        rank, seen = q * self.count, 0
        for i, n in enumerate(self.buckets):
            seen += n
            if seen >= rank:
                return BOUNDS_S[min(i, len(BOUNDS_S) - 1)]
        return BOUNDS_S[-1]


_routes: dict[tuple[str, str, str], RouteStats] = {}
_durations: list[Histogram] = []
_errors: list[Counter] = []


def route_of(scope: dict[str, Any]) -> str:
    """The matched route's template (`/api/v1/reports/{report_id}`), never the raw path nor a
    path parameter's value (ids, or any name a caller makes up, would make every request its
    own series); `unmatched` when no route matched. The gateway's forwarding front names the
    services it proxies itself (`/api/v1/agri/{rest}`)."""
    route = scope.get("route")
    template = getattr(route, "path", None)
    if not isinstance(template, str):
        return "unmatched"
    return template.replace(":path}", "}")


_attributes: dict[tuple[str, str, str, int], dict[str, str | int]] = {}


def record_request(service: str, method: str, route: str, status: int, seconds: float) -> None:
    """One request's figures: a histogram record (in process and OpenTelemetry), nothing
    else on the request's path (the series' objects are made once)."""
    stats = _routes.get((service, method, route))
    if stats is None:
        stats = _routes.setdefault((service, method, route), RouteStats())
    stats.add(status, seconds)
    key = (service, method, route, status)
    attrs = _attributes.get(key)
    if attrs is None:
        if len(_attributes) >= 10_000:  # routes are templates, so never in practice
            _attributes.clear()
        attrs = _attributes[key] = {"gx.service": service, "http.request.method": method,
                                    "http.route": route, "http.response.status_code": status}
    for histogram in _durations:
        histogram.record(seconds, attrs)
    if status >= 500:
        for counter in _errors:
            counter.add(1, attrs)


def request_snapshot(service: str | None = None) -> list[dict[str, Any]]:
    """Per route: requests, 5xx, 4xx, mean, p50 and p99 (ms, bucket upper bounds)."""
    def ms(v: float | None) -> float | None:
        return None if v is None else round(v * 1000, 3)
    return [{"service": svc, "method": method, "route": route, "count": st.count,
             "errors": st.errors, "refused": st.refused,
             "mean_ms": ms(st.seconds / st.count) if st.count else None,
             "p50_ms": ms(st.quantile(0.5)), "p99_ms": ms(st.quantile(0.99))}
            for (svc, method, route), st in sorted(_routes.items())
            if service is None or svc == service]


class RequestMetricsMiddleware:
    """Duration and status of every HTTP request, by route template (plain ASGI: no extra
    task per response, unlike @app.middleware("http"))."""

    def __init__(self, app: Any, service_name: str) -> None:
        self.app, self.service_name = app, service_name

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started, status = time.perf_counter(), 500

        async def send_with_status(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)
        try:
            await self.app(scope, receive, send_with_status)
        finally:
            record_request(self.service_name, scope["method"], route_of(scope), status,
                           time.perf_counter() - started)


# -- consumers and dead letters, as the broker sees them -------------------------------------

@dataclass
class BrokerSample:
    """The last look at the broker: per (group, topic) uncommitted records, per dead-letter
    topic its records, when it was taken, and why not if it failed."""

    consumer_lag: dict[tuple[str, str], int] = field(default_factory=dict)
    dlq_depth: dict[str, int] = field(default_factory=dict)
    topic_end: dict[str, int] = field(default_factory=dict)
    at: float | None = None
    error: str | None = None


_broker = BrokerSample()


def broker_sample() -> BrokerSample:
    return _broker


async def sample_broker(bootstrap: str, prefix: str = "",
                        groups: Mapping[str, Iterable[str]] | None = None) -> BrokerSample:
    """Look at the broker once and keep the result for the gauges: every topic named
    `<prefix>….events` or `….dlq` (dead letters: end − start), and every consumer group whose
    id starts with `prefix`, its uncommitted records per topic. Clients connect as every
    Kafka client of the kernel does (`gx_kernel.kafka.client_options`).

    `groups`: the deployment's own consumer groups and the topics each reads. Such a group
    is behind by a topic's whole log until its first commit there (the kernel's consumers
    start at the earliest offset): the broker does not list a group without commits (Tansu)
    or lists it without offsets (Kafka), yet its records wait — a group stuck on its first
    batch would otherwise show no lag at all.

    End offsets come from a fetch's high-water mark as well as ListOffsets (the embedded
    broker under-reports `end_offsets` after multi-record batches)."""
    global _broker
    from aiokafka import AIOKafkaConsumer, TopicPartition

    from gx_kernel.kafka import client_options, make_admin

    sample = BrokerSample(at=time.time())
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None,
                                enable_auto_commit=False, **client_options())
    admin = make_admin(bootstrap)
    try:
        await consumer.start()
        await admin.start()
        topics = sorted(t for t in await consumer.topics() if t.startswith(prefix)
                        and (t.endswith(".events") or t.endswith(".dlq")))
        parts = [TopicPartition(t, p) for t in topics
                 for p in sorted(consumer.partitions_for_topic(t) or ())]
        ends = await _high_water(consumer, parts)
        starts = await consumer.beginning_offsets(parts) if parts else {}
        for tp in parts:
            sample.topic_end[tp.topic] = sample.topic_end.get(tp.topic, 0) + ends[tp]
            if tp.topic.endswith(".dlq"):
                sample.dlq_depth[tp.topic] = (sample.dlq_depth.get(tp.topic, 0)
                                              + ends[tp] - starts.get(tp, 0))
        declared = {g: set(ts) for g, ts in (groups or {}).items()}
        listed = {str(g[0]) for g in await admin.list_consumer_groups()
                  if str(g[0]).startswith(prefix)}
        for group in sorted(listed | set(declared)):
            committed = await _committed(bootstrap, group, parts)
            for tp in parts:
                offset = committed.get(tp)
                if offset is None and tp.topic in declared.get(group, ()):
                    offset = starts.get(tp, 0)  # not committed yet: from the log's start
                if offset is None:
                    continue
                key = (group, tp.topic)
                sample.consumer_lag[key] = (sample.consumer_lag.get(key, 0)
                                            + max(0, ends[tp] - offset))
    except Exception as exc:  # noqa: BLE001 - an unreachable broker is a reading, not a crash
        sample.error = f"{type(exc).__name__}: {exc}"[:300]
    finally:
        with contextlib.suppress(Exception):
            await consumer.stop()
        with contextlib.suppress(Exception):
            await admin.close()
    _broker = sample
    return sample


async def _committed(bootstrap: str, group: str, parts: list[Any]) -> dict[Any, int]:
    """The group's committed offsets (partitions it never committed are left out). Asked as
    a member that never joins: the admin client's OffsetFetch version is one the embedded
    broker cannot answer."""
    from aiokafka import AIOKafkaConsumer

    from gx_kernel.kafka import client_options

    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group,
                                enable_auto_commit=False, **client_options())
    await consumer.start()
    try:
        got = {tp: await consumer.committed(tp) for tp in parts if not tp.topic.endswith(".dlq")}
        return {tp: int(n) for tp, n in got.items() if n is not None and n >= 0}
    finally:
        await consumer.stop()


async def _high_water(consumer: Any, parts: list[Any]) -> dict[Any, int]:
    """Each partition's high-water mark as a fetch reports it (see `sample_broker`)."""
    if not parts:
        return {}
    consumer.assign(parts)
    listed = await consumer.end_offsets(parts)
    await consumer.seek_to_end(*parts)
    out: dict[Any, int] = {}
    for tp in parts:
        out[tp] = max(listed.get(tp, 0), await consumer.position(tp))
    try:  # a short fetch corrects an under-reported end (one record per partition at most)
        for tp in parts:
            if out[tp] > 0:
                consumer.seek(tp, out[tp] - 1)
        await consumer.getmany(timeout_ms=300, max_records=len(parts) * 50)
        for tp in parts:
            hw = consumer.highwater(tp)
            if hw is not None:
                out[tp] = max(out[tp], hw)
    except Exception:  # noqa: BLE001 - the listed offsets stand
        log.debug("high-water fetch failed", exc_info=True)
    return out


def _consumer_lag(_: CallbackOptions) -> Iterable[Observation]:
    return [Observation(n, {"gx.consumer.group": g, "messaging.destination.name": t})
            for (g, t), n in list(_broker.consumer_lag.items())]


def _dlq_depth(_: CallbackOptions) -> Iterable[Observation]:
    return [Observation(n, {"messaging.destination.name": t})
            for t, n in list(_broker.dlq_depth.items())]


def instrument(meter: Meter) -> None:
    """Create the kernel's instruments on `meter`."""
    meter.create_observable_gauge("gx.relay.lag", [_lag], unit="{event}",
                                  description="events in the store not yet published")
    meter.create_observable_gauge("gx.relay.stuck", [_stuck], unit="1",
                                  description="1 while an event cannot be published")
    _failure_counters.append(meter.create_counter(
        "gx.relay.publish_failures", unit="{try}", description="failed tries to publish"))
    _durations.append(meter.create_histogram(
        "http.server.request.duration", unit="s", description="duration of HTTP requests",
        explicit_bucket_boundaries_advisory=list(BOUNDS_S)))
    _errors.append(meter.create_counter(
        "gx.http.server.errors", unit="{request}", description="requests answered 5xx"))
    meter.create_observable_gauge("gx.consumer.lag", [_consumer_lag], unit="{record}",
                                  description="records not yet committed by a consumer group")
    meter.create_observable_gauge("gx.dlq.depth", [_dlq_depth], unit="{record}",
                                  description="records on a dead-letter topic")


instrument(metrics.get_meter("gx_kernel"))


def setup_metrics(service_name: str) -> None:
    """Export by OTLP when OTEL_METRICS_EXPORTER=otlp (or an OTLP endpoint is set); else none."""
    from opentelemetry.sdk.metrics import MeterProvider

    if isinstance(metrics.get_meter_provider(), MeterProvider):
        return
    choice = os.environ.get("OTEL_METRICS_EXPORTER",
                            "otlp" if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") else "none")
    if choice != "otlp":
        return
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
    from opentelemetry.sdk.resources import Resource

    metrics.set_meter_provider(MeterProvider(
        metric_readers=[PeriodicExportingMetricReader(OTLPMetricExporter())],
        resource=Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME",
                                                                service_name)})))
