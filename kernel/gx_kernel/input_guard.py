"""The input guard at every HTTP edge (gateway and services alike), before any parsing.

One place refuses what would otherwise reach a parser, a database or a router unchecked:
- a body larger than the limit (413; Content-Length and the bytes actually streamed);
- JSON nested too deep or with too many elements (422 / 413), checked on the raw bytes;
- text PostgreSQL cannot store: NUL (\\u0000) or unpaired surrogates, in any JSON string or key,
  form field or query parameter (422, naming the field path, e.g. `explanations.crop_area`);
- paths with dot-segments or encoded separators (%2e%2e, %252e%252e, %2f, %5c): 400, so a path
  means the same to the gateway's capability check and to the service behind it.
"""
from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote_to_bytes

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gx_kernel.errors import AppError

PROBLEM_JSON = "application/problem+json"
NUL_MESSAGE = "不能包含空字符（NUL）"
TOO_LARGE_TITLE = "请求体过大"
SURROGATE_MESSAGE = "包含无效的 Unicode 字符（不成对的代理项）"
_NO_BODY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_ENCODED_SEPARATOR = re.compile(rb"%(?:2f|5c)", re.IGNORECASE)
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_NUL_ESCAPE = b"\\u0000"
# With escaped backslashes and quotes removed first, a JSON string is a quote, no quote, and a
# closing quote or the end (an unterminated one): a match never fails, so never backtracks.
_STRING = re.compile(rb'"[^"]*(?:"|\Z)')
_NOT_STRUCTURE = bytes(b for b in range(256) if b not in b"[]{},")
_MAX_DECODE_ROUNDS = 4
_MAX_ERRORS = 20


@dataclass(frozen=True)
class Limits:
    max_body_bytes: int = 1024 * 1024
    max_json_depth: int = 32
    max_json_items: int = 10_000

    @classmethod
    def from_settings(cls, settings: Any = None) -> Limits:
        """A setting's own field when it has one (the gateway's), else the environment."""
        def pick(attr: str, env: str, default: int) -> int:
            value = getattr(settings, attr, None)
            return int(value if value is not None else os.environ.get(env, default))
        return cls(pick("max_body_bytes", "GX_MAX_BODY_BYTES", cls.max_body_bytes),
                   pick("max_json_depth", "GX_MAX_JSON_DEPTH", cls.max_json_depth),
                   pick("max_json_items", "GX_MAX_JSON_ITEMS", cls.max_json_items))


def _size(n: int) -> str:
    if n >= 1024 * 1024 and n % (1024 * 1024) == 0:
        return f"{n // (1024 * 1024)} MB"
    return f"{n // 1024} KB" if n >= 1024 and n % 1024 == 0 else f"{n} 字节"


def body_too_large(limit: int) -> AppError:
    return AppError(413, "body_too_large", f"请求体过大（上限 {_size(limit)}）", field="body",
                    extra={"title": TOO_LARGE_TITLE})


def _path_error(message: str) -> AppError:
    return AppError(400, "path_invalid", f"请求路径（path）{message}", field="path")


def _text_errors(errors: list[dict[str, str]]) -> AppError:
    detail = "；".join(f"{e['field']}：{e['message']}" for e in errors[:5])
    return AppError(422, "validation_failed", f"输入有误：{detail}", errors=errors)


def _shown(name: Any) -> str:
    return str(name).replace("\x00", "\\u0000").encode("utf-8", "backslashreplace").decode()


def text_problem(text: str) -> str | None:
    """Why PostgreSQL could not store `text`, or None."""
    if "\x00" in text:
        return NUL_MESSAGE
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return SURROGATE_MESSAGE
    return None


# ---- path and query -------------------------------------------------------------------------

def check_path(raw_path: bytes) -> None:
    """Refuse dot-segments and encoded separators however often percent-encoded, and NUL."""
    if b"%" not in raw_path and b"/." not in raw_path and b"\\" not in raw_path:
        return  # nothing encoded and no dot-segment: the common case
    current = raw_path
    for _ in range(_MAX_DECODE_ROUNDS):
        if _ENCODED_SEPARATOR.search(current) or b"\\" in current:
            raise _path_error("不能包含编码的斜杠（%2F、%5C）或反斜杠")
        decoded = unquote_to_bytes(current)
        if b"\x00" in decoded:
            raise AppError(422, "validation_failed", f"输入有误：path：{NUL_MESSAGE}",
                           errors=[{"field": "path", "message": NUL_MESSAGE}])
        if any(seg in (b".", b"..") for seg in decoded.split(b"/")):
            raise _path_error("不能包含“.”或“..”路径段（含编码形式）")
        if decoded == current:
            return
        current = decoded
    raise _path_error("编码层数过多")


def check_fields(pairs: list[tuple[str, str]]) -> None:
    errors = []
    for name, value in pairs:
        why = text_problem(name) or text_problem(value)
        if why:
            errors.append({"field": _shown(name), "message": why})
    if errors:
        raise _text_errors(errors[:_MAX_ERRORS])


def check_query(query_string: bytes) -> None:
    if b"%" not in query_string:
        return  # NUL and surrogates only arrive percent-encoded
    check_fields(parse_qsl(query_string.decode("latin-1"), keep_blank_values=True))


# ---- JSON body --------------------------------------------------------------------------------

def check_json_shape(body: bytes, limits: Limits) -> None:
    """Depth and element count from the raw bytes (never recursing), before any parser runs.

    Linear and at C speed whatever the input: strings are cut out by bytes operations and a
    regular expression; the Python loop sees only brackets and commas, and stops within about
    twice the element limit."""
    opens = body.count(b"[") + body.count(b"{")
    if opens <= limits.max_json_depth and opens + body.count(b",") <= limits.max_json_items:
        return  # cannot exceed either bound (brackets inside strings only over-count)
    text = body.replace(b"\\\\", b"").replace(b'\\"', b"")
    # Each string is a key or a value: far more strings than elements allowed is refused as
    # it stands (and keeps the string removal below cheap).
    if text.count(b'"') > 4 * (limits.max_json_items + 1):
        raise _too_many_items(limits)
    structure = _STRING.sub(b"", text).translate(None, _NOT_STRUCTURE)
    depth = items = 0
    for c in structure:
        if c in (0x5B, 0x7B):  # [ {
            depth += 1
            items += 1
            if depth > limits.max_json_depth:
                raise AppError(422, "json_too_deep",
                               f"请求体（body）JSON 嵌套过深（最多 {limits.max_json_depth} 层）",
                               field="body")
        elif c == 0x2C:  # ,
            items += 1
        else:
            depth -= 1
            if depth < 0:
                return  # more closing than opening brackets: not JSON, the parser says so
        if items > limits.max_json_items:
            raise _too_many_items(limits)


def _too_many_items(limits: Limits) -> AppError:
    return AppError(413, "json_too_many_items",
                    f"请求体（body）JSON 元素过多（最多 {limits.max_json_items} 个）",
                    field="body", extra={"title": TOO_LARGE_TITLE})


def bad_text(data: Any) -> Iterator[dict[str, str]]:
    """{field, message} for every key or string PostgreSQL could not store, in document
    order (iterative: an explicit stack, never recursion)."""
    stack: list[tuple[tuple[Any, ...], Any]] = [((), data)]
    while stack:
        path, value = stack.pop()
        if path and isinstance(path[-1], str):
            why = text_problem(path[-1])  # the key itself
            if why:
                yield {"field": ".".join(_shown(p) for p in path), "message": why}
        if isinstance(value, str):
            why = text_problem(value)
            if why:
                yield {"field": ".".join(_shown(p) for p in path) or "body", "message": why}
        elif isinstance(value, dict):
            stack.extend((path + (k,), v) for k, v in reversed(list(value.items())))
        elif isinstance(value, list):
            stack.extend((path + (i,), v) for i, v in reversed(list(enumerate(value))))


def load_json(body: bytes, limits: Limits | None = None) -> Any:
    """Parse a JSON body after the shape check; ValueError if it is not JSON."""
    check_json_shape(body, limits or Limits())
    try:
        return json.loads(body)
    except RecursionError:  # unreachable after the shape check; never a 500 anyway
        raise ValueError("too deep") from None


def check_json_text(body: bytes) -> None:
    if _NUL_ESCAPE not in body and not _SURROGATE_ESCAPE.search(body):
        return  # no escape that could decode to bad text (raw NUL is invalid JSON anyway)
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return  # malformed JSON: the route answers 422 itself
    errors = []
    for err in bad_text(data):
        errors.append(err)
        if len(errors) >= _MAX_ERRORS:
            break
    if errors:
        raise _text_errors(errors)


def check_body(body: bytes, content_type: str, limits: Limits) -> None:
    if not body:
        return
    media = content_type.split(";", 1)[0].strip().lower()
    if not media or media.endswith("json"):
        check_json_shape(body, limits)
        check_json_text(body)
    elif media == "application/x-www-form-urlencoded":
        try:
            pairs = parse_qsl(body.decode("latin-1"), keep_blank_values=True,
                              max_num_fields=limits.max_json_items) if b"%" in body else []
        except ValueError:  # more fields than allowed
            raise AppError(413, "form_too_many_fields",
                           f"请求体（body）表单字段过多（最多 {limits.max_json_items} 个）",
                           field="body", extra={"title": TOO_LARGE_TITLE}) from None
        check_fields(pairs)


# ---- the ASGI middleware ----------------------------------------------------------------------

def check_target(scope: Scope) -> None:
    """The request's path and query (AppError 400/422)."""
    raw = scope.get("raw_path") or scope["path"].encode()
    check_path(raw.split(b"?", 1)[0])
    check_query(scope.get("query_string") or b"")


def _body_headers(scope: Scope) -> dict[bytes, bytes]:
    return {k: v for k, v in scope["headers"]
            if k in (b"content-length", b"content-type", b"transfer-encoding")}


def carries_body(scope: Scope) -> bool:
    """Whether the guard reads and checks this request's body (declared, or a method that
    has one)."""
    if scope["method"] not in _NO_BODY_METHODS:
        return True
    return any(k in (b"content-length", b"transfer-encoding") for k, _ in scope["headers"])


async def read_checked(scope: Scope, receive: Receive, limits: Limits) -> bytes | None:
    """The request body, bounded and checked (AppError 413/422), or None if the client went
    away. Call only when `carries_body(scope)`; the body is consumed from `receive`."""
    headers = _body_headers(scope)
    body = await _read(receive, headers.get(b"content-length"), limits.max_body_bytes)
    if body is not None:
        check_body(body, headers.get(b"content-type", b"").decode("latin-1"), limits)
    return body


def problem_response(exc: AppError) -> JSONResponse:
    return JSONResponse(exc.problem(), status_code=exc.status, media_type=PROBLEM_JSON)


class InputGuardMiddleware:
    """Pure ASGI: buffers a request body (bounded), checks it, then replays it to the app."""

    def __init__(self, app: ASGIApp, limits: Limits | None = None) -> None:
        self.app, self.limits = app, limits or Limits()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        try:
            check_target(scope)
            if carries_body(scope):
                body = await read_checked(scope, receive, self.limits)
                if body is None:
                    return  # the client went away
                receive = _replay(body, receive)
        except AppError as exc:
            return await problem_response(exc)(scope, receive, send)
        await self.app(scope, receive, send)


async def _read(receive: Receive, declared: bytes | None, limit: int) -> bytes | None:
    if declared is not None and declared.strip().isdigit() and int(declared) > limit:
        raise body_too_large(limit)
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise body_too_large(limit)
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()
    return replayed
