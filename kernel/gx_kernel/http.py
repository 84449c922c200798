"""HTTP edge of a service: input guard, problem-details errors in Chinese, server spans,
identity."""
from __future__ import annotations

import logging
from typing import Any

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from opentelemetry.trace import SpanKind
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gx_kernel import telemetry
from gx_kernel.errors import TITLES, AppError, problem
from gx_kernel.identity import PRINCIPAL_HEADER, Principal, verify_principal
from gx_kernel.input_guard import PROBLEM_JSON, InputGuardMiddleware, Limits
from gx_kernel.metrics import RequestMetricsMiddleware

log = logging.getLogger(__name__)
__all__ = ["PROBLEM_JSON", "chinese_message", "field_path", "install", "principal", "runtime",
           "validation_problem", "ServerSpanMiddleware"]
# PostgreSQL gone for a moment (restart, failover, connection dropped): the request did not run,
# or its transaction rolled back; the caller may retry it (with its Idempotency-Key).
DATABASE_UNAVAILABLE: tuple[type[BaseException], ...] = (
    asyncpg.CannotConnectNowError, asyncpg.AdminShutdownError, asyncpg.CrashShutdownError,
    asyncpg.PostgresConnectionError, ConnectionError)
_HTTP_DETAILS = {400: "请求有误（请求体无法解析）", 404: "请求的资源不存在", 405: "不支持该请求方法",
                 413: "请求体过大"}

_MESSAGES = {
    "missing": "缺少必填字段", "extra_forbidden": "不允许的字段", "json_invalid": "请求体不是有效的 JSON",
    "int_parsing": "应为整数", "int_type": "应为整数", "float_parsing": "应为数字",
    "float_type": "应为数字", "string_type": "应为文本", "bool_parsing": "应为是/否（布尔值）",
    "bool_type": "应为是/否（布尔值）", "dict_type": "应为对象", "list_type": "应为数组",
    "model_attributes_type": "应为对象", "datetime_parsing": "日期时间格式不正确",
    "datetime_from_date_parsing": "日期时间格式不正确", "uuid_parsing": "编号格式不正确",
    "string_too_short": "内容过短", "string_too_long": "内容过长",
    "string_pattern_mismatch": "格式不正确", "enum": "取值不在允许范围内", "literal_error": "取值不在允许范围内",
    "greater_than_equal": "数值过小", "greater_than": "数值过小", "less_than_equal": "数值过大",
    "less_than": "数值过大", "finite_number": "应为有限数字",
}


def reply(result: tuple[int, Any]) -> JSONResponse:
    """A command handler's `(status, body)` (as `UnitOfWork.respond` returns it) as a response."""
    status, body = result
    return JSONResponse(body, status_code=status)


def field_path(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body",)]
    return ".".join(parts) or "body"


def chinese_message(err: dict[str, Any]) -> str:
    kind = err.get("type", "")
    if kind == "value_error":  # our own validators raise Chinese messages
        return str(err.get("msg", "")).removeprefix("Value error, ")
    if kind not in _MESSAGES and not str(err.get("msg", "")).isascii():
        return str(err["msg"])  # a custom error that already speaks Chinese
    base = _MESSAGES.get(kind, "取值不正确")
    ctx = err.get("ctx") or {}
    for key in ("ge", "gt", "le", "lt", "min_length", "max_length", "expected"):
        if key in ctx:
            return f"{base}（{key}={ctx[key]}）"
    return base


def validation_problem(errors: list[dict[str, Any]]) -> dict[str, Any]:
    items = [{"field": field_path(tuple(e.get("loc", ()))), "message": chinese_message(e),
              "type": e.get("type")} for e in errors]
    detail = "；".join(f"{i['field']}：{i['message']}" for i in items[:5])
    return problem(422, "validation_failed", f"输入有误：{detail}", items)


def install(app: FastAPI, service_name: str) -> None:
    """Input guard, error handlers and a server span per request (context from `traceparent`).

    Limits come from `app.state.settings` when it has them (else GX_MAX_BODY_BYTES, ...)."""

    @app.exception_handler(AppError)
    async def app_error(_: Request, exc: AppError) -> JSONResponse:
        return JSONResponse(exc.problem(), status_code=exc.status, media_type=PROBLEM_JSON)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(validation_problem(list(exc.errors())), status_code=422,
                            media_type=PROBLEM_JSON)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        detail = _HTTP_DETAILS.get(exc.status_code) or (
            TITLES.get(exc.status_code, "请求有误") if str(exc.detail).isascii() else str(exc.detail))
        return JSONResponse(problem(exc.status_code, code, detail), status_code=exc.status_code,
                            media_type=PROBLEM_JSON)

    @app.exception_handler(Exception)
    async def crash(_: Request, exc: Exception) -> JSONResponse:
        from gx_kernel.uow import CommitOutcome  # (uow imports nothing of http)
        if isinstance(exc, CommitOutcome) and exc.status != "aborted":
            log.error("commit outcome unknown: %r", exc)
            return JSONResponse(problem(500, "commit_outcome_unknown",
                                        "提交结果未知：请以同一幂等键重试，或先查询是否已生效"),
                                status_code=500, media_type=PROBLEM_JSON)
        if isinstance(exc, (*DATABASE_UNAVAILABLE, CommitOutcome)):
            log.warning("database unavailable: %r", exc)
            return JSONResponse(problem(503, "database_unavailable", "数据库暂时不可用，请稍后重试"),
                                status_code=503, media_type=PROBLEM_JSON,
                                headers={"Retry-After": "1"})
        log.exception("unhandled error")
        return JSONResponse(problem(500, "internal_error", TITLES[500]), status_code=500,
                            media_type=PROBLEM_JSON)

    # Added first, so it runs inside the span (its refusals are traced too).
    app.add_middleware(InputGuardMiddleware,
                       limits=Limits.from_settings(getattr(app.state, "settings", None)))
    app.add_middleware(RequestMetricsMiddleware, service_name=service_name)  # per route
    app.add_middleware(ServerSpanMiddleware, service_name=service_name)


class ServerSpanMiddleware:
    """A SERVER span per request, continuing the caller's `traceparent`.

    Plain ASGI rather than @app.middleware("http"): that one streams every response through
    extra tasks and costs a large share of a request's CPU."""

    _PROPAGATED = (b"traceparent", b"tracestate")

    def __init__(self, app: ASGIApp, service_name: str) -> None:
        self.app, self.service_name = app, service_name

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        carrier = {k.decode(): v.decode("latin-1") for k, v in scope["headers"]
                   if k in self._PROPAGATED}
        method, path = scope["method"], scope["path"]
        with telemetry.span(f"{method} {path}", kind=SpanKind.SERVER,
                            parent=telemetry.extract_context(carrier),
                            **{"http.request.method": method, "url.path": path,
                               "service.component": self.service_name}) as span:
            async def send_with_status(message: Message) -> None:
                if message["type"] == "http.response.start":
                    span.set_attribute("http.response.status_code", message["status"])
                await send(message)
            await self.app(scope, receive, send_with_status)


# Dependencies are `async def` on purpose: FastAPI runs a plain `def` dependency in a thread
# pool, which cost a quarter of a request's CPU.
async def principal(request: Request) -> Principal:
    """FastAPI dependency: the verified principal forwarded by the gateway."""
    secret = request.app.state.settings.internal_secret
    return verify_principal(request.headers.get(PRINCIPAL_HEADER), secret)


async def runtime(request: Request) -> Any:
    """FastAPI dependency: the service runtime (pool, store, settings)."""
    return request.app.state.runtime
