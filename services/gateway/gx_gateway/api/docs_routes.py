"""Public contract documents: the merged OpenAPI, the AsyncAPI of the topics, JSON Schemas,
and a subscriber's connection details. Read-only."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, JSONResponse, Response

from gx_kernel.errors import NotFound

from gx_gateway.api.caller import Caller, authenticate
from gx_gateway.api.subscription_models import Subscriptions
from gx_gateway.application import asyncapi_served, contract_files, subscriptions
from gx_gateway.application.state import state

router = APIRouter(prefix="/api/v1", tags=["文档与订阅"])


@router.get("/openapi.json", summary="统一接口文档（网关与各服务合并的 OpenAPI）")
async def merged_openapi(request: Request) -> JSONResponse:
    doc = await state(request.app.state.runtime).openapi.document()
    return JSONResponse(doc, headers={"Cache-Control": "no-cache"})


@router.get("/asyncapi.yaml", summary="事件主题文档（AsyncAPI 3.0，服务器条目为本部署的实际连接）",
            response_class=Response,
            responses={200: {"content": {"application/yaml": {}}}})
async def asyncapi(request: Request) -> Response:
    body = asyncapi_served.document(request.app.state.runtime.settings)
    if body is None:
        raise NotFound("文档", "asyncapi.yaml")
    return Response(body, media_type="application/yaml")


@router.get("/schemas/{path:path}", summary="事件与请求体的 JSON Schema",
            response_class=FileResponse,
            responses={200: {"content": {"application/schema+json": {}}}})
async def json_schema(path: str, request: Request) -> FileResponse:
    found = contract_files.schema_file(request.app.state.runtime.settings, path)
    if found is None:
        raise NotFound("JSON Schema", path)
    return FileResponse(found, media_type="application/schema+json")


@router.get("/subscriptions", summary="订阅系统：我的主题与连接说明",
            response_model=Subscriptions, response_model_by_alias=True)
async def my_subscriptions(request: Request, caller: Caller = Depends(authenticate)) -> dict:
    return await subscriptions.my_subscriptions(request.app.state.runtime, caller.principal)
