"""Helpers for the hardening tests (issue 8): what every service has written, the problem
answer's language and field, and requests httpx would not send as they are (raw paths,
bodies larger than the gateway takes)."""
from __future__ import annotations

import asyncio
import json
import re
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import httpx

SERVICES = ("gateway", "registry", "agri", "population", "workflow")
_CJK = re.compile(r"[\u4e00-\u9fff]")
# Gateway tables that a refused request must leave alone (events cover the services).
_GATEWAY_TABLES = ("users", "devices", "device_requests", "subscriber_topics")


async def written(stack, conn: asyncpg.Connection | None = None) -> dict[str, tuple]:
    """Per service schema: (event count, last position, sum of stream versions); and the
    gateway's own tables' row counts. One statement (on `conn` if given)."""
    parts = [f"SELECT '{svc}' AS k, (SELECT count(*) FROM {stack.schema(svc)}.events) AS n, "
             f"(SELECT coalesce(max(position), 0) FROM {stack.schema(svc)}.events) AS p, "
             f"(SELECT coalesce(sum(version), 0) FROM {stack.schema(svc)}.streams) AS v"
             for svc in SERVICES]
    parts += [f"SELECT 'gateway.{t}', (SELECT count(*) FROM {stack.schema('gateway')}.{t}), 0, 0"
              for t in _GATEWAY_TABLES]
    if conn is not None:
        rows = await conn.fetch(" UNION ALL ".join(parts))
    else:
        own = await asyncpg.connect(stack.database_url)
        try:
            rows = await own.fetch(" UNION ALL ".join(parts))
        finally:
            await own.close()
    return {r["k"]: (r["n"], r["p"], r["v"]) for r in rows}


async def settled(stack, quiet: float = 0.4, timeout: float = 30.0) -> dict[str, tuple]:
    """What is written once the asynchronous followers (consumers, projections) are quiet:
    the same reading twice, `quiet` seconds apart."""
    last = await written(stack)
    for _ in range(int(timeout / quiet)):
        await asyncio.sleep(quiet)
        now = await written(stack)
        if now == last:
            return now
        last = now
    raise AssertionError("the services kept writing")


def chinese(text: str) -> bool:
    return bool(_CJK.search(text or ""))


def problem(r: httpx.Response | RawResponse) -> dict[str, Any]:
    """The problem JSON of a refusal: a 4xx (never a 5xx), its message in Chinese."""
    status = r.status_code
    assert 400 <= status < 500, f"{status}: {r.text[:400]}"
    ctype = r.headers.get("content-type", "")
    assert ctype.startswith("application/problem+json"), f"{status} {ctype}: {r.text[:400]}"
    body = json.loads(r.text)
    assert body["status"] == status and body["code"], body
    assert _CJK.search(body["detail"]), f"message not in Chinese: {body['detail']!r}"
    for item in body.get("errors") or []:
        assert _CJK.search(item.get("message", "")), f"message not in Chinese: {item}"
    return body


def fields(body: dict[str, Any]) -> list[str]:
    return [e.get("field") or "" for e in body.get("errors") or []]


def names_field(body: dict[str, Any], field: str) -> bool:
    """`field` itself, a path inside it (field_notes -> field_notes.crop_area), or where it
    came from (query.offset)."""
    return any(f == field or f.startswith(field + ".") or f.endswith("." + field)
               for f in fields(body))


def refused(r, field: str | None = None, statuses: tuple[int, ...] | None = None) -> dict:
    """A clean refusal (4xx, problem JSON, Chinese), naming `field` if given."""
    body = problem(r)
    if statuses:
        assert r.status_code in statuses, f"{r.status_code} not in {statuses}: {r.text[:400]}"
    if field:
        assert names_field(body, field), f"{field} not named: {fields(body)} {body['detail']}"
    return body


class RawResponse:
    def __init__(self, status: int, headers: dict[str, str], body: bytes):
        self.status_code, self.headers, self.content = status, headers, body

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")


async def raw_request(base_url: str, method: str, target: str, headers: dict[str, str],
                      body: bytes = b"", declared_length: int | None = None,
                      chunked_total: int = 0, timeout: float = 60.0) -> RawResponse:
    """One HTTP/1.1 request written by hand: the target exactly as given (dot-segments and
    all), a Content-Length that may promise more than is sent, or `chunked_total` bytes sent
    chunked. The answer is read while the body is still being written (a server that refuses
    early may stop reading)."""
    url = urlsplit(base_url)
    reader, writer = await asyncio.open_connection(url.hostname, url.port)
    head = [f"{method} {target} HTTP/1.1", f"Host: {url.hostname}:{url.port}",
            "Connection: close", *(f"{k}: {v}" for k, v in headers.items())]
    if chunked_total:
        head.append("Transfer-Encoding: chunked")
    else:
        head.append(f"Content-Length: {declared_length if declared_length is not None else len(body)}")
    writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))

    async def send() -> None:
        try:
            if chunked_total:
                chunk, sent = b"[" + b"0," * (256 * 1024), 0
                while sent < chunked_total:
                    writer.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                    await writer.drain()
                    sent += len(chunk)
                writer.write(b"0\r\n\r\n")
            else:
                writer.write(body)
            await writer.drain()
        except (ConnectionError, OSError):
            pass  # the server answered and hung up before taking everything: fine

    sender = asyncio.create_task(send())
    try:
        data = await asyncio.wait_for(_read_response(reader), timeout)
    finally:
        sender.cancel()
        writer.close()
    return data


async def _read_response(reader: asyncio.StreamReader) -> RawResponse:
    status_line = (await reader.readline()).decode("latin-1")
    status = int(status_line.split()[1])
    headers: dict[str, str] = {}
    while (line := (await reader.readline()).decode("latin-1").strip()):
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    if "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding") == "chunked":
        body = b""
        while (size := int((await reader.readline()).strip(), 16)):
            body += await reader.readexactly(size)
            await reader.readline()
    else:
        body = await reader.read()
    return RawResponse(status, headers, body)


def unbounded_fields(doc: dict[str, Any]) -> list[str]:
    """Request-body fields of the command operations (POST/PUT/PATCH/DELETE) that the document
    gives no bound: a string without maxLength (enums and formats aside), a number without a
    maximum, an array without maxItems, a map without maxProperties or bounded keys."""
    schemas = doc.get("components", {}).get("schemas", {})
    out: list[str] = []

    def resolve(s: Any) -> Any:
        while isinstance(s, dict) and "$ref" in s:
            s = schemas[s["$ref"].rsplit("/", 1)[-1]]
        return s

    def walk(s: Any, where: str, seen: frozenset) -> None:
        s = resolve(s)
        if not isinstance(s, dict) or id(s) in seen or "enum" in s or "const" in s:
            return
        seen |= {id(s)}
        for sub in s.get("anyOf", []) + s.get("oneOf", []) + s.get("allOf", []):
            walk(sub, where, seen)
        kind = s.get("type")
        if kind == "string" and "maxLength" not in s and s.get("format") not in (
                "date-time", "date", "uuid"):
            out.append(f"{where}: string without maxLength")
        if kind in ("integer", "number") and not {"maximum", "exclusiveMaximum"} & set(s):
            out.append(f"{where}: {kind} without maximum")
        if kind == "array":
            if "maxItems" not in s:
                out.append(f"{where}: array without maxItems")
            walk(s.get("items", {}), where + "[]", seen)
        for name, sub in (s.get("properties") or {}).items():
            walk(sub, f"{where}.{name}", seen)
        values = list((s.get("patternProperties") or {}).values())
        if isinstance(s.get("additionalProperties"), dict):
            values.append(s["additionalProperties"])
        if values:
            if "maxProperties" not in s:
                out.append(f"{where}: map without maxProperties")
            if "maxLength" not in resolve(s.get("propertyNames") or {}):
                out.append(f"{where}: map keys without maxLength")
            for sub in values:
                walk(sub, where + ".*", seen)

    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method in ("post", "put", "patch", "delete"):
                content = (op.get("requestBody") or {}).get("content", {})
                for media in content.values():
                    walk(media.get("schema"), f"{method.upper()} {path}", frozenset())
    return out
