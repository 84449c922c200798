"""Errors with a stable machine code and a Chinese message for people (RFC 9457)."""
from __future__ import annotations

from typing import Any


class AppError(Exception):
    """An error a client can act on: HTTP status, stable code, Chinese message, optional field."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None,
                 extra: dict[str, Any] | None = None, errors: list[dict[str, Any]] | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field
        self.extra = extra or {}
        # Several fields may be wrong at once; each item names its field and says why.
        self.errors = errors if errors is not None else (
            [{"field": field, "message": message}] if field else [])

    def problem(self) -> dict[str, Any]:
        return problem(self.status, self.code, self.message, self.errors, **self.extra)


class NotFound(AppError):
    def __init__(self, what: str, ident: str):
        super().__init__(404, "not_found", f"{what}不存在：{ident}")


class Forbidden(AppError):
    def __init__(self, message: str = "无权执行此操作", code: str = "forbidden"):
        super().__init__(403, code, message)


class Unauthorized(AppError):
    def __init__(self, message: str = "未登录或登录已过期", code: str = "unauthorized"):
        super().__init__(401, code, message)


class Conflict(AppError):
    def __init__(self, message: str, code: str = "conflict", **extra: Any):
        super().__init__(409, code, message, extra=extra)


class EventTooLarge(AppError):
    """An event bigger than the broker takes (GX_MAX_EVENT_BYTES): refused before it is stored."""

    def __init__(self, size: int, limit: int, event_type: str):
        super().__init__(413, "event_too_large",
                         f"提交内容过大（{size} 字节，上限 {limit} 字节），请精简后重试",
                         extra={"size_bytes": size, "limit_bytes": limit,
                                "event_type": event_type})
        self.size, self.limit = size, limit


TITLES = {400: "请求有误", 401: "未认证", 403: "无权访问", 404: "不存在", 409: "冲突",
          413: "请求内容过大", 422: "输入有误", 429: "请求过于频繁", 500: "服务器内部错误",
          503: "服务暂不可用"}


def problem(status: int, code: str, detail: str, errors: list[dict[str, Any]] | None = None,
            **extra: Any) -> dict[str, Any]:
    body = {"type": f"https://gxstat.example/problems/{code}", "title": TITLES.get(status, "错误"),
            "status": status, "code": code, "detail": detail, "errors": errors or []}
    body.update(extra)
    return body
