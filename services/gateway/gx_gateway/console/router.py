"""Serves the console: `/` (the single page), `/console/<file>`, two small JSON documents, and
`/sw.js` (the offline service worker, at the root so its scope covers `/`).

No build step: the browser loads plain ES modules. Catalogues the console needs and no service
serves (the return-reason codes) come from gx_contracts, so there is one source of truth.
"""
from __future__ import annotations

import functools
import hashlib
import json
import time
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from gx_contracts.divisions import Level, is_valid_code, load_divisions
from gx_contracts.events.workflow import RETURN_REASONS
from gx_contracts.roles import Role
from gx_kernel.errors import AppError

from gx_gateway.application.state import state

router = APIRouter(include_in_schema=False)
STATIC = (Path(__file__).parent / "static").resolve()
_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
          ".html": "text/html; charset=utf-8", ".txt": "text/plain; charset=utf-8",
          ".svg": "image/svg+xml"}
# App files change with every deploy: revalidate. Vendored files are immutable per version.
_APP_CACHE, _VENDOR_CACHE = "no-cache", "public, max-age=86400"
_LEVELS_ZH = {Level.region: "自治区", Level.city: "市", Level.county: "县（区）",
              Level.township: "乡镇", Level.village: "村"}
_FEATURES_TTL = 30.0  # seconds between looks at the services' OpenAPI documents
EXPORT_WORDS = ("export", "csv", "xlsx", "pdf", "print")


@router.get("/")
async def index(request: Request) -> Response:
    return _serve(STATIC / "index.html", request)


@router.get("/sw.js")
async def service_worker() -> Response:
    """The worker with its shell list and a version digest of the static files filled in: a
    deploy that changes any file changes this script, so browsers install the new one."""
    files = sorted(f for f in STATIC.iterdir()
                   if f.suffix in (".js", ".css") and f.name != "sw.js")
    digest = hashlib.sha256()
    for f in files + [STATIC / "index.html", STATIC / "sw.js"]:
        digest.update(f.name.encode() + b"\0" + _read(f)[1])
    shell = ["/", "/console/meta.json"] + [f"/console/{f.name}" for f in files]
    body = (_read(STATIC / "sw.js")[1].decode()
            .replace("__VERSION__", digest.hexdigest()[:16])
            .replace("__SHELL__", json.dumps(shell)))
    return Response(body, media_type=_TYPES[".js"],
                    headers={"Cache-Control": "no-cache", "Service-Worker-Allowed": "/"})


@router.get("/console/meta.json")
async def meta(request: Request) -> JSONResponse:
    """Catalogues for the console: return reasons (退回原因目录), role and level names, and
    whether data collection needs the device certificate (GX_DEVICE_REQUIRED)."""
    return JSONResponse({
        "device_required": request.app.state.runtime.settings.device_required,
        "return_reasons": [{"code": k, "label": v} for k, v in RETURN_REASONS.items()],
        "roles": {r.value: r.label_zh for r in Role},
        "levels": {lv.value: name for lv, name in _LEVELS_ZH.items()},
    }, headers={"Cache-Control": _APP_CACHE})


@functools.lru_cache(maxsize=1)
def _divisions() -> dict:
    return load_divisions()


@router.get("/console/division-names.json")
async def division_names(codes: str = "") -> JSONResponse:
    """Names of divisions by 12-digit code (public reference data), so pages can say who acted
    where (长塘镇) instead of a code; at most 50 codes a request, unknown ones left out."""
    wanted = [c for c in codes.split(",") if is_valid_code(c)][:50]
    tree = _divisions()
    return JSONResponse({c: tree[c].name for c in wanted if c in tree},
                        headers={"Cache-Control": _VENDOR_CACHE})


@router.get("/console/features.json")
async def features(request: Request) -> JSONResponse:
    """What the services offer right now: agri export routes and the progress event stream.

    Read from each service's OpenAPI document, so the console shows only buttons that work."""
    rt = request.app.state.runtime
    cached = state(rt).console_features
    if cached and time.monotonic() - cached[0] < _FEATURES_TTL:
        return JSONResponse(cached[1])
    agri = await _openapi(rt, "agri")
    workflow = await _openapi(rt, "workflow")
    body = {"exports": _export_routes(agri),
            "progress_stream": "/api/v1/workflow/progress/stream" in workflow.get("paths", {})}
    if agri or workflow:  # do not cache "nothing" while a service is still starting
        state(rt).console_features = (time.monotonic(), body)
    return JSONResponse(body)


async def _openapi(rt, service: str) -> dict:
    try:
        r = await state(rt).http.get(f"{rt.settings.service_url(service)}/openapi.json",
                                       timeout=3.0)
        return r.json() if r.status_code == 200 else {}
    except Exception:  # noqa: BLE001 - a missing service only hides buttons
        return {}


def _export_routes(doc: dict) -> list[dict]:
    """GET routes under /api/v1/agri/ whose path names an export, with their query params."""
    out = []
    for path, ops in doc.get("paths", {}).items():
        get = ops.get("get")
        if not get or not path.startswith("/api/v1/agri/"):
            continue
        if not any(w in path.lower() for w in EXPORT_WORDS):
            continue
        params = [{"name": p.get("name"), "in": p.get("in"), "required": p.get("required", False),
                   "enum": _enum(doc, p.get("schema") or {})} for p in get.get("parameters", [])]
        out.append({"path": path, "params": params})
    return out


def _enum(doc: dict, schema: dict, depth: int = 0) -> list | None:
    """Allowed values of a parameter (inline enum, const, anyOf/allOf, or a $ref to one)."""
    if depth > 5:
        return None
    ref = schema.get("$ref", "")
    if ref.startswith("#/components/schemas/"):
        schema = doc.get("components", {}).get("schemas", {}).get(ref.rsplit("/", 1)[1], {})
    if "enum" in schema:
        return schema["enum"]
    if "const" in schema:
        return [schema["const"]]
    for sub in schema.get("anyOf", []) + schema.get("allOf", []) + schema.get("oneOf", []):
        found = _enum(doc, sub, depth + 1)
        if found:
            return found
    return None


@router.get("/console/{path:path}")
async def asset(path: str, request: Request) -> Response:
    file = (STATIC / path).resolve()
    # Only files inside static/, never Python sources or anything outside.
    if (not file.is_relative_to(STATIC) or not file.is_file()
            or file.suffix not in _TYPES and file.suffix != ".json"):
        raise AppError(404, "not_found", "请求的资源不存在")
    return _serve(file, request)


_CACHE: dict[Path, tuple[float, bytes, str]] = {}


def _read(file: Path) -> tuple[float, bytes, str]:
    """From memory (re-read when the file changes): the console's first load is many small
    files, and a thread-pool file read per request costs more than the file itself."""
    mtime = file.stat().st_mtime
    hit = _CACHE.get(file)
    if hit is None or hit[0] != mtime:
        body = file.read_bytes()
        hit = (mtime, body, '"' + hashlib.sha256(body).hexdigest()[:20] + '"')
        _CACHE[file] = hit
    return hit


def _serve(file: Path, request: Request) -> Response:
    _, body, etag = _read(file)
    headers = {"ETag": etag,
               "Cache-Control": _VENDOR_CACHE if file.parent.name == "vendor" else _APP_CACHE}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=_TYPES.get(file.suffix, "application/json"),
                    headers=headers)
