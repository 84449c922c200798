"""OpenTelemetry traces and JSON logs with trace ids. No personal data goes into either.

The exporter is chosen by the standard variables: OTEL_TRACES_EXPORTER (otlp | console | none)
and OTEL_EXPORTER_OTLP_ENDPOINT. Tests install their own provider before services start.
"""
from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
import uuid
from collections.abc import Iterator, Mapping
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind, Status, StatusCode

_tracer = trace.get_tracer("gx_kernel")


def setup_telemetry(service_name: str) -> None:
    """Install a tracer provider once per process (no-op if one is already installed)."""
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter
    from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ParentBased

    if isinstance(trace.get_tracer_provider(), TracerProvider):
        return
    choice = os.environ.get("OTEL_TRACES_EXPORTER",
                            "otlp" if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") else "none")
    # With nowhere to send spans, record none: ids are still made and propagated (logs keep
    # their trace ids, traceparent still crosses HTTP and Kafka) at a fraction of the cost.
    sampler = ParentBased(ALWAYS_OFF) if choice == "none" else None
    provider = TracerProvider(sampler=sampler, resource=Resource.create(
        {"service.name": os.environ.get("OTEL_SERVICE_NAME", service_name)}))
    if choice == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    elif choice == "console":
        provider.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter(out=sys.stderr)))
    trace.set_tracer_provider(provider)


@contextlib.contextmanager
def span(name: str, kind: SpanKind = SpanKind.INTERNAL, parent: Any = None,
         **attributes: Any) -> Iterator[trace.Span]:
    """A span made current for its block; records and re-raises exceptions."""
    with _tracer.start_as_current_span(name, context=parent, kind=kind,
                                       attributes=attributes) as s:
        yield s


def mark_error(s: trace.Span, exc: BaseException) -> None:
    s.set_status(Status(StatusCode.ERROR, type(exc).__name__))


def current_traceparent() -> str | None:
    """W3C traceparent of the current span (formatted directly: this runs on every append)."""
    ctx = trace.get_current_span().get_span_context()
    if not ctx.is_valid:
        return None
    return f"00-{ctx.trace_id:032x}-{ctx.span_id:016x}-{int(ctx.trace_flags):02x}"


def inject_headers(headers: dict[str, str] | None = None) -> dict[str, str]:
    headers = headers if headers is not None else {}
    propagate.inject(headers)
    return headers


def extract_context(carrier: Mapping[str, str]) -> otel_context.Context:
    return propagate.extract(dict(carrier))


def context_from_traceparent(traceparent: str | None) -> otel_context.Context | None:
    return propagate.extract({"traceparent": traceparent}) if traceparent else None


def enrich_metadata(meta: dict[str, Any]) -> dict[str, Any]:
    """Fill correlation id and traceparent from the current context when the caller did not."""
    tp = current_traceparent()
    if tp and not meta.get("traceparent"):
        meta["traceparent"] = tp
    if not meta.get("correlation_id"):
        meta["correlation_id"] = str(uuid.uuid4())
    return meta


class JsonFormatter(logging.Formatter):
    """One JSON object per line, with the current trace and span ids."""

    def format(self, record: logging.LogRecord) -> str:
        ctx = trace.get_current_span().get_span_context()
        out = {"time": self.formatTime(record), "level": record.levelname,
               "logger": record.name, "message": record.getMessage()}
        if ctx.is_valid:
            out["trace_id"] = format(ctx.trace_id, "032x")
            out["span_id"] = format(ctx.span_id, "016x")
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


def setup_logging(level: str | None = None) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level or os.environ.get("GX_LOG_LEVEL", "INFO"))
    logging.getLogger("aiokafka").setLevel(logging.WARNING)
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
