"""An AppError carrying several field errors (the kernel's AppError holds one field)."""
from __future__ import annotations

from typing import Any

from gx_kernel.errors import AppError, problem


class FieldErrors(AppError):
    def __init__(self, status: int, code: str, message: str, errors: list[dict[str, Any]]):
        super().__init__(status, code, message, field=errors[0]["field"] if errors else None)
        self.errors = errors

    def problem(self) -> dict[str, Any]:
        return problem(self.status, self.code, self.message, self.errors)
