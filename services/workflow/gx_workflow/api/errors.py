"""The HTTP edge of the domain's refusals: status codes and RFC 9457 problem JSON."""
from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from gx_kernel.errors import AppError
from gx_kernel.eventstore import ConcurrencyError
from gx_kernel.http import PROBLEM_JSON

from gx_workflow.domain.errors import (
    CaseRefused,
    InvalidInput,
    InvalidTransition,
    NotPermitted,
    NotYourTurn,
    StaleVersion,
)

_STATUS: dict[type[CaseRefused], int] = {NotPermitted: 403, NotYourTurn: 409,
                                         InvalidTransition: 409, InvalidInput: 422}


def to_app_error(exc: CaseRefused | StaleVersion) -> AppError:
    if isinstance(exc, StaleVersion):
        return ConcurrencyError(exc.stream_id, exc.expected, exc.actual)
    status = next((s for kind, s in _STATUS.items() if isinstance(exc, kind)), 409)
    return AppError(status, exc.code, exc.message, errors=exc.errors)


def install(app: FastAPI) -> None:
    async def refused(_: Request, exc: Exception) -> JSONResponse:
        err = to_app_error(exc)  # type: ignore[arg-type]
        return JSONResponse(err.problem(), status_code=err.status, media_type=PROBLEM_JSON)

    app.add_exception_handler(CaseRefused, refused)
    app.add_exception_handler(StaleVersion, refused)
