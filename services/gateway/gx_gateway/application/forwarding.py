"""Forwarding to the services over one shared keep-alive HTTP client."""
from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import aiohttp
import httpx
from opentelemetry.trace import SpanKind
from yarl import URL

from gx_kernel import telemetry
from gx_kernel.errors import AppError
from gx_kernel.identity import PRINCIPAL_HEADER, Principal, sign_principal

from gx_gateway.application.state import state
from gx_gateway.settings import GatewaySettings

SERVICE_ZH = {"registry": "名录库服务", "agri": "农业统计服务", "population": "人口变动调查服务",
              "organisation": "统计工作组织服务", "workflow": "审核流程服务"}
# Request headers passed through as they are; everything else (cookies, Authorization,
# any client-sent X-Gx-Principal) stays at the gateway.
PASS_REQUEST = ("content-type", "accept", "accept-language", "idempotency-key", "if-match",
                "if-none-match", "last-event-id")
PASS_RESPONSE = ("location", "etag", "content-disposition", "retry-after", "cache-control",
                 "idempotent-replayed")


@dataclass
class Upstream:
    status: int
    body: bytes
    content_type: str | None
    headers: dict[str, str]
    stream: aiohttp.ClientResponse | None = None  # set for server-sent events (not buffered)

    async def chunks(self) -> AsyncIterator[bytes]:
        assert self.stream is not None
        try:
            async for chunk in self.stream.content.iter_any():
                yield chunk
        except (TimeoutError, aiohttp.ClientError):
            return  # the service ended the stream; the browser reconnects
        finally:
            self.stream.release()


def make_client(settings: GatewaySettings) -> httpx.AsyncClient:
    """For the occasional calls (readiness, OpenAPI documents, feature probes)."""
    t = settings.upstream_timeout
    return httpx.AsyncClient(timeout=httpx.Timeout(t, connect=3.0, pool=5.0),
                             follow_redirects=False)


def make_upstream(settings: GatewaySettings) -> aiohttp.ClientSession:
    """The forwarding path: aiohttp costs a fraction of httpx's CPU per request, and the
    gateway pays it on every call. Keep-alive shorter than the services' (75 s). No cookie
    jar: the session is shared by every caller, so a cookie a service set must never be sent
    on behalf of another (and a jar costs a lookup per request)."""
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=200, keepalive_timeout=30),
        timeout=aiohttp.ClientTimeout(total=None, connect=3.0,
                                      sock_read=settings.upstream_timeout),
        cookie_jar=aiohttp.DummyCookieJar(), auto_decompress=False,
        skip_auto_headers=("User-Agent",))


def unavailable(service: str) -> AppError:
    return AppError(503, "service_unavailable",
                    f"{SERVICE_ZH.get(service, service)}暂时无法访问，请稍后重试",
                    extra={"service": service})


def timed_out(service: str) -> AppError:
    return AppError(504, "service_timeout",
                    f"{SERVICE_ZH.get(service, service)}响应超时，请稍后重试")


@contextlib.contextmanager
def _no_answer_is_503(service: str, span) -> Iterator[None]:
    """Refused, a keep-alive connection the service closed, a broken answer: the service gave
    no usable answer -> 503 (504 when it was too slow), never a 500."""
    try:
        yield
    except TimeoutError as exc:
        telemetry.mark_error(span, exc)
        raise timed_out(service) from None
    except aiohttp.ClientError as exc:
        telemetry.mark_error(span, exc)
        raise unavailable(service) from None


_SIGNED: dict[tuple[Principal, str], tuple[int, str]] = {}


def signed(principal: Principal, secret: str) -> str:
    """The principal's signed header, made once a second per principal (within one second
    signing gives the same text: the expiry counts whole seconds)."""
    second = int(time.time())
    hit = _SIGNED.get((principal, secret))
    if hit is not None and hit[0] == second:
        return hit[1]
    if len(_SIGNED) >= 10_000:
        _SIGNED.clear()
    value = sign_principal(principal, secret)
    _SIGNED[(principal, secret)] = (second, value)
    return value


async def forward(session: aiohttp.ClientSession, settings: GatewaySettings, service: str,
                  method: str, path_qs: str, headers, body: bytes,
                  principal: Principal) -> Upstream:
    """Send the request to `service` as `principal`; the service's answer, or 503/504."""
    out = {k: v for k, v in headers.items() if k.lower() in PASS_REQUEST}
    out[PRINCIPAL_HEADER] = signed(principal, settings.internal_secret)
    # encoded=True: sent exactly as checked (yarl would otherwise re-normalise the path).
    url = URL(settings.service_url(service) + path_qs, encoded=True)
    with telemetry.span(f"forward {service}", kind=SpanKind.CLIENT,
                        **{"http.request.method": method, "server.address": service}) as span:
        telemetry.inject_headers(out)  # traceparent of this client span
        with _no_answer_is_503(service, span):
            resp = await session.request(method, url, headers=out, data=body or None,
                                         allow_redirects=False)
        span.set_attribute("http.response.status_code", resp.status)
        ctype = resp.headers.get("content-type")
        kept = {k: resp.headers[k] for k in PASS_RESPONSE if k in resp.headers}
        if ctype and ctype.startswith("text/event-stream"):
            return Upstream(resp.status, b"", ctype, kept, stream=resp)
        try:
            with _no_answer_is_503(service, span):
                body_out = await resp.read()
        finally:
            resp.release()
        return Upstream(resp.status, body_out, ctype, kept)


def service_ready_check(name: str, timeout: float = 2.0):
    """A kernel readiness check: the named service answers its own /ready with 200."""
    async def check(rt) -> bool:
        try:
            r = await state(rt).http.get(rt.settings.service_url(name) + "/ready",
                                           timeout=timeout)
            return r.status_code == 200
        except httpx.HTTPError:
            return False
    return check
