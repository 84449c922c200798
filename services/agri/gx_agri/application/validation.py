"""Machine validation in context: the form's rules plus the village's last accepted period."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gx_kernel.errors import AppError

from gx_agri.adapters import repo
from gx_agri.domain.catalogue import Form
from gx_agri.domain.rules import Finding, input_problems, validate


def check_input(form: Form, values: Mapping[str, Any], explanations: Mapping[str, str]) -> None:
    """422 naming every field the form cannot hold (unknown code, type, decimals)."""
    problems = input_problems(form, values, explanations)
    if problems:
        detail = "；".join(m for _, m in problems[:5])
        raise AppError(422, "validation_failed", f"输入有误：{detail}",
                       errors=[{"field": f, "message": m} for f, m in problems])


async def findings_for(conn, s: str, form: Form, row: Mapping[str, Any],
                       values: Mapping[str, Any] | None = None,
                       explanations: Mapping[str, str] | None = None) -> list[Finding]:
    prev = await repo.last_accepted(conn, s, row["village_code"], form.code, row["period"])
    prev_values = None
    if prev is not None:
        prev_values = repo.report_dict(prev)["vals"]
    return validate(form, row["vals"] if values is None else values,
                    row["explanations"] if explanations is None else explanations,
                    prev_values, prev["period"] if prev else None)
