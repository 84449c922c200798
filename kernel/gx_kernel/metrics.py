"""OpenTelemetry metrics of the kernel: how far each relay is behind, and whether it is stuck.

`gx.relay.lag` (events in the store not yet published) and `gx.relay.stuck` (1 while an event
cannot be published) are observable gauges read from in-process state the relay keeps
current; `gx.relay.publish_failures` counts failed tries. Instruments live on the global
meter (a proxy until a provider is installed); tests may add them to their own provider.
"""
from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass

from opentelemetry import metrics
from opentelemetry.metrics import CallbackOptions, Counter, Meter, Observation


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


def instrument(meter: Meter) -> None:
    """Create the relay instruments on `meter`."""
    meter.create_observable_gauge("gx.relay.lag", [_lag], unit="{event}",
                                  description="events in the store not yet published")
    meter.create_observable_gauge("gx.relay.stuck", [_stuck], unit="1",
                                  description="1 while an event cannot be published")
    _failure_counters.append(meter.create_counter(
        "gx.relay.publish_failures", unit="{try}", description="failed tries to publish"))


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
