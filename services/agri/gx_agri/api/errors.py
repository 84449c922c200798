"""Request validation errors that name the indicator (its Chinese label) and the paging bound."""
from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from gx_kernel.http import PROBLEM_JSON, validation_problem

from gx_agri.domain.catalogue import default_catalogue
from gx_agri.domain.rules import fmt

MAX_OFFSET = 1_000_000
MAX_LIMIT = 20_000
_QUERY = {"query.offset": f"分页偏移量 offset 应为 0～{MAX_OFFSET} 的整数（更多数据请用 after 游标翻页）",
          "query.limit": f"每页条数 limit 应为 1～{MAX_LIMIT} 的整数",
          "query.after": "翻页游标 after 应为12位区划代码（上一页最后一个村的代码）"}


def _relabel(item: dict) -> dict:
    field = item["field"]
    if field in _QUERY:
        return {**item, "message": _QUERY[field]}
    head, _, code = field.partition(".")
    if head not in ("values", "explanations") or not code:
        return item
    ind = default_catalogue().find(code)
    if ind is None:
        return {**item, "message": f"指标“{code[:64]}”：{item['message']}"}
    if item.get("type") == "number_range":  # beyond the contract's overall bound: say the indicator's
        return {**item, "message": f"{ind.label}超出取值范围 {fmt(ind.min)}～{fmt(ind.max)}"}
    return {**item, "message": f"{ind.label}：{item['message']}"}


def install(app: FastAPI) -> None:
    """Replace the kernel's handler for this service: same problem JSON, messages with labels."""

    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        body = validation_problem(list(exc.errors()))
        body["errors"] = [_relabel(i) for i in body["errors"]]
        body["detail"] = "输入有误：" + "；".join(
            f"{i['field']}：{i['message']}" for i in body["errors"][:5])
        return JSONResponse(body, status_code=422, media_type=PROBLEM_JSON)

    app.add_exception_handler(RequestValidationError, invalid)
