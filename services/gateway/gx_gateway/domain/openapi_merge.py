"""One OpenAPI document for the whole public API (统一接口文档) — pure functions, no I/O.

Inputs: the gateway's own document and each service's `/openapi.json` (None when it could
not be fetched). Output: only `/api/v1/...` paths; component schemas renamed `<source>_<Name>`
(every `$ref` rewritten) so two services' `Item` never collide; operation ids prefixed the
same way; bearer auth, the `Idempotency-Key` header and the problem-details error shape
(`application/problem+json`) documented once and referenced by every operation.
"""
from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

API_PREFIX = "/api/v1/"
MUTATING = ("post", "put", "patch", "delete")
HTTP_METHODS = ("get", "head", "options", *MUTATING)
PUBLIC_OPERATIONS = {("post", "/api/v1/auth/login"), ("post", "/api/v1/auth/refresh"),
                     ("get", "/api/v1/openapi.json"), ("get", "/api/v1/asyncapi.yaml"),
                     ("get", "/api/v1/schemas/{path}")}
"""Operations that need no bearer token."""
# FastAPI's default 422 body; the kernel answers problem details instead, so it is replaced.
FASTAPI_VALIDATION = ("HTTPValidationError", "ValidationError")
ERROR_STATUSES = {"401": "未认证：缺少、过期或伪造的访问令牌",
                  "403": "无权访问：角色无此能力，或对象不在本人管辖范围内",
                  "404": "不存在（或在管辖范围外，不暴露其存在）",
                  "409": "冲突：版本已过期（expected_version）或状态不允许",
                  "422": "输入有误：字段名见 errors[].field，说明为中文",
                  "429": "请求过于频繁：见 Retry-After",
                  "503": "后端服务暂不可用"}

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem", "type": "object",
    "description": "RFC 9457 problem details (application/problem+json)；code 为稳定的机器码，"
                   "detail 为中文说明，errors 逐项指出字段。",
    "required": ["type", "title", "status", "code", "detail", "errors"],
    "properties": {
        "type": {"type": "string", "description": "问题类型 URI"},
        "title": {"type": "string", "description": "标题（中文）"},
        "status": {"type": "integer", "description": "HTTP 状态码"},
        "code": {"type": "string", "description": "稳定的错误码，如 validation_failed、"
                                                  "outside_jurisdiction、idempotency_key_reused"},
        "detail": {"type": "string", "description": "中文说明，指出字段"},
        "errors": {"type": "array", "items": {
            "type": "object", "required": ["field", "message"],
            "properties": {"field": {"type": ["string", "null"], "description": "字段路径"},
                           "message": {"type": "string", "description": "中文说明"}},
            "additionalProperties": True}},
    },
    "additionalProperties": True,
}
IDEMPOTENCY_PARAM: dict[str, Any] = {
    "name": "Idempotency-Key", "in": "header", "required": False,
    "schema": {"type": "string", "maxLength": 200},
    "description": "幂等键：同一用户同一键的重复请求返回首次的响应（响应头 Idempotent-Replayed: true）；"
                   "同一键不同请求内容返回 422 idempotency_key_reused。",
}


def merge(gateway: Mapping[str, Any], services: Mapping[str, Mapping[str, Any] | None],
          *, title: str = "gxstat API", version: str = "1") -> dict[str, Any]:
    """The merged document. `services`: name -> its OpenAPI document, or None if down."""
    missing = sorted(name for name, doc in services.items() if doc is None)
    out: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version,
                 "description": "广西基层统计网格化服务管理平台的公开接口（经网关）。所有错误均为 "
                                "application/problem+json；变更请求可带 Idempotency-Key 安全重试。",
                 "x-gx-sources": ["gateway", *sorted(n for n, d in services.items() if d)],
                 "x-gx-missing": missing},
        "paths": {}, "tags": [],
        "components": {"schemas": {"Problem": PROBLEM_SCHEMA},
                       "parameters": {"IdempotencyKey": IDEMPOTENCY_PARAM},
                       "responses": _problem_responses(),
                       "securitySchemes": {"bearerAuth": {
                           "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                           "description": "POST /api/v1/auth/login 取得的 access_token"}}},
        "security": [{"bearerAuth": []}],
    }
    for source, doc in [("gateway", gateway), *sorted(services.items())]:
        if doc:
            _add_source(out, source, doc, forwarded=source != "gateway")
    return out


def _add_source(out: dict[str, Any], source: str, doc: Mapping[str, Any],
                forwarded: bool) -> None:
    doc = copy.deepcopy(dict(doc))
    schemas = (doc.get("components") or {}).get("schemas") or {}
    renames = {name: f"{source}_{name}" for name in schemas if name not in FASTAPI_VALIDATION}
    doc = rewrite_refs(doc, renames)
    for name, schema in ((doc.get("components") or {}).get("schemas") or {}).items():
        if name not in FASTAPI_VALIDATION:
            out["components"]["schemas"][renames[name]] = schema
    used_tags: set[str] = set()
    for path, item in (doc.get("paths") or {}).items():
        if not path.startswith(API_PREFIX):
            continue
        target = out["paths"].setdefault(path, {})
        for method, op in item.items():
            if method not in HTTP_METHODS:
                continue
            target[method] = _operation(source, method, path, op, forwarded)
            used_tags.update(target[method].get("tags", []))
    known = {t["name"] for t in out["tags"]}
    out["tags"] += [{"name": t, "x-gx-source": source} for t in sorted(used_tags - known)]


def _operation(source: str, method: str, path: str, op: dict[str, Any],
               forwarded: bool) -> dict[str, Any]:
    op = dict(op)
    op["operationId"] = f"{source}_{op.get('operationId') or method + path.replace('/', '_')}"
    op.setdefault("tags", [source])
    op["x-gx-source"] = source
    params = [p for p in op.get("parameters", [])
              if not (p.get("in") == "header" and p.get("name", "").lower() == "idempotency-key")]
    # The gateway runs every forwarded mutation once per key (and the service again).
    if method in MUTATING and (forwarded or len(params) != len(op.get("parameters", []))):
        params.append({"$ref": "#/components/parameters/IdempotencyKey"})
    if params:
        op["parameters"] = params
    responses = {code: r for code, r in (op.get("responses") or {}).items() if code != "422"}
    public = (method, path) in PUBLIC_OPERATIONS
    for code in ERROR_STATUSES:
        if code == "401" and public:
            continue
        responses.setdefault(code, {"$ref": f"#/components/responses/Problem{code}"})
    op["responses"] = responses
    if public:
        op["security"] = []
    return op


def _problem_responses() -> dict[str, Any]:
    body = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    out = {f"Problem{code}": {"description": text, "content": body}
           for code, text in ERROR_STATUSES.items()}
    out["Problem429"]["headers"] = {"Retry-After": {"schema": {"type": "integer"},
                                                    "description": "秒"}}
    return out


def rewrite_refs(node: Any, renames: Mapping[str, str]) -> Any:
    """Copy of `node` with `#/components/schemas/<old>` refs renamed; FastAPI's validation
    error schemas become the shared `Problem`."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value.startswith("#/components/schemas/"):
                name = value.rsplit("/", 1)[1]
                new = "Problem" if name in FASTAPI_VALIDATION else renames.get(name, name)
                out[key] = f"#/components/schemas/{new}"
            else:
                out[key] = rewrite_refs(value, renames)
        return out
    if isinstance(node, list):
        return [rewrite_refs(v, renames) for v in node]
    return node


def dangling_refs(doc: Mapping[str, Any]) -> list[str]:
    """Every `#/components/...` ref that names nothing (used by tests and by nobody else)."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/components/"):
                _, _, kind, name = ref.split("/", 3)
                if name not in (doc.get("components") or {}).get(kind, {}):
                    found.append(ref)
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)
    walk(doc)
    return found


def operations(doc: Mapping[str, Any]) -> Iterable[tuple[str, str, dict[str, Any]]]:
    for path, item in (doc.get("paths") or {}).items():
        for method, op in item.items():
            if method in HTTP_METHODS:
                yield method, path, op
