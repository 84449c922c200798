"""The forwarding path (转发快速通道): a plain ASGI app in front of FastAPI.

Proxied routes — `/api/v1/<service>/...` for every service the gateway fronts — are matched
by a prefix table and answered here, without FastAPI's routing, dependency solving or
middleware stack; every other request goes on to FastAPI unchanged (the gateway's own routes,
the console, an unknown service). What that stack gave the proxied routes is kept, in the
same order: a SERVER span continuing the caller's `traceparent`, the request's duration and
status by route template (`/api/v1/<service>/{rest}`), the kernel's input guard (path,
query, bounded body), then `proxy_call` (token, revocation, rate limits, device proof, role,
jurisdiction, Idempotency-Key, forwarding with the signed principal and trace context), and
RFC 9457 problems in Chinese for every refusal or failure.
"""
from __future__ import annotations

import logging
import time
from typing import Any

from fastapi import FastAPI
from opentelemetry.trace import SpanKind
from starlette.types import ASGIApp, Receive, Scope, Send

from gx_kernel import metrics, telemetry
from gx_kernel.errors import TITLES, AppError
from gx_kernel.http import DATABASE_UNAVAILABLE
from gx_kernel.input_guard import Limits, carries_body, check_target, problem_response, read_checked

from gx_gateway.api.proxy import ProxyCall, proxy_call, to_response
from gx_gateway.application.forwarding import Upstream
from gx_gateway.domain.ratelimit import RateLimited
from gx_gateway.settings import SERVICES

log = logging.getLogger(__name__)
PREFIX = "/api/v1/"
_TRACE_HEADERS = ("traceparent", "tracestate")


def install(app: FastAPI) -> None:
    """Put the forwarding path in front of `app`'s whole stack (built on its first request),
    so `app` stays what tests and the server run (lifespan, state, routes)."""
    build = app.build_middleware_stack

    def build_with_front() -> ASGIApp:
        return ForwardingFront(build(), app)
    app.build_middleware_stack = build_with_front  # type: ignore[method-assign]


class ForwardingFront:
    def __init__(self, app: ASGIApp, gateway: FastAPI) -> None:
        self.app, self.gateway = app, gateway
        settings = gateway.state.settings
        self.service_name = settings.service_name
        self.limits = Limits.from_settings(settings)
        self.routes = {name: f"{PREFIX}{name}/{{rest}}" for name in SERVICES}  # the prefix table

    def service_of(self, path: str) -> str | None:
        """The service a path goes to, if it is a proxied route (`/api/v1/<service>/…`)."""
        if not path.startswith(PREFIX):
            return None
        service, slash, _ = path[len(PREFIX):].partition("/")
        return service if slash and service in self.routes else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or (service := self.service_of(scope["path"])) is None:
            await self.app(scope, receive, send)
            return
        started, method, path = time.perf_counter(), scope["method"], scope["path"]
        headers: dict[str, str] = {}
        for name, value in scope["headers"]:
            headers.setdefault(name.decode("latin-1"), value.decode("latin-1"))
        carrier = {k: headers[k] for k in _TRACE_HEADERS if k in headers}
        status = 500
        try:
            with telemetry.span(f"{method} {path}", kind=SpanKind.SERVER,
                                parent=telemetry.extract_context(carrier),
                                **{"http.request.method": method, "url.path": path,
                                   "service.component": self.service_name}) as span:
                status = await self._answer(service, scope, receive, send, headers)
                span.set_attribute("http.response.status_code", status)
        finally:
            metrics.record_request(self.service_name, method, self.routes[service], status,
                                   time.perf_counter() - started)

    async def _answer(self, service: str, scope: Scope, receive: Receive, send: Send,
                      headers: dict[str, str]) -> int:
        """Answer the request; the status sent (500 if the client went away first)."""
        sent = False

        async def sending(message: Any) -> None:
            nonlocal sent
            sent = True
            await send(message)
        try:
            check_target(scope)
            body = b""
            if carries_body(scope):
                read = await read_checked(scope, receive, self.limits)
                if read is None:
                    return 500  # the client went away (as the kernel's guard counts it)
                body = read
            qs = (scope.get("query_string") or b"").decode("latin-1")
            raw = (scope.get("raw_path") or scope["path"].encode()).split(b"?", 1)[0]
            path_qs = raw.decode("latin-1") + (f"?{qs}" if qs else "")
            up, replayed = await proxy_call(self.gateway.state.runtime, ProxyCall(
                service, scope["method"], scope["path"], path_qs, qs, headers, body))
            await _respond(up, replayed, scope, receive, sending)
            return up.status
        except AppError as exc:
            if sent:
                raise
            refusal = problem_response(exc)
            if isinstance(exc, RateLimited):
                refusal.headers["Retry-After"] = str(exc.retry_after)
            await refusal(scope, receive, send)
            return exc.status
        except DATABASE_UNAVAILABLE as exc:  # PostgreSQL restarting: retry with the same key
            if sent:
                raise
            log.warning("database unavailable: %r", exc)
            refusal = problem_response(AppError(503, "database_unavailable",
                                                "数据库暂时不可用，请稍后重试"))
            refusal.headers["Retry-After"] = "1"
            await refusal(scope, receive, send)
            return 503
        except Exception:
            if sent:
                raise  # the answer was under way: nothing better to send
            log.exception("unhandled error")
            await problem_response(AppError(500, "internal_error", TITLES[500]))(
                scope, receive, send)
            return 500


async def _respond(up: Upstream, replayed: bool, scope: Scope, receive: Receive,
                   send: Send) -> None:
    """The service's answer, with the headers a Starlette `Response` would give it."""
    if up.stream is not None:  # server-sent events: Starlette streams and watches disconnects
        await to_response(up, replayed)(scope, receive, send)
        return
    raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in up.headers.items()]
    if replayed:
        raw.append((b"idempotent-replayed", b"true"))
    if not (up.status < 200 or up.status in (204, 304)):
        raw.append((b"content-length", str(len(up.body)).encode()))
    ctype = up.content_type
    if ctype is not None:
        if ctype.startswith("text/") and "charset=" not in ctype.lower():
            ctype += "; charset=utf-8"
        raw.append((b"content-type", ctype.encode("latin-1")))
    await send({"type": "http.response.start", "status": up.status, "headers": raw})
    await send({"type": "http.response.body", "body": up.body})

