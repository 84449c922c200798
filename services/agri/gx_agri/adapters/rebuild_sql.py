"""SQL of agri's read-model rebuild (tables the rebuild emptied: COPY, and set-based steps)."""
from __future__ import annotations

import uuid
from typing import Any

REPORT_COLUMNS = ("report_id", "task_id", "village_code", "form_code", "form_version", "period",
                  "status", "version", "revision", "vals", "explanations", "case_id",
                  "approved_rank", "review_level", "return_reason_code", "return_reason",
                  "return_from_level", "field_notes", "submitted_at", "updated_at",
                  "accepted_level", "confirmed_level")


async def copy_report_rows(conn: Any, s: str, rows: list[tuple[Any, ...]]) -> None:
    """Whole report rows (REPORT_COLUMNS; jsonb as JSON text) by COPY."""
    await conn.copy_records_to_table("reports", schema_name=s, records=rows,
                                     columns=REPORT_COLUMNS)


async def log_review_steps_of(conn: Any, s: str, event_ids: list[uuid.UUID],
                              adopted_type: str) -> None:
    """The review_log rows these events carry (`review`: one step; a list for `adopted_type`),
    taken from the stored events inside PostgreSQL — as `projections._log_row` builds them
    (data as stored, metadata {} when absent, `at` its ISO time) and in the events' order,
    a step kept already left as it is — without parsing or encoding their JSON here."""
    await conn.execute(
        f"INSERT INTO {s}.review_log (event_id, report_id, type, data, metadata, at)"
        f" SELECT (st->>'event_id')::uuid, (e.data->>'report_id')::uuid, st->>'type',"
        f" st->'data', coalesce(nullif(st->'metadata', 'null'::jsonb), '{{}}'::jsonb),"
        f" (st->>'at')::timestamptz"
        f" FROM {s}.events e CROSS JOIN LATERAL jsonb_array_elements(CASE WHEN e.type = $2"
        f" THEN e.data->'review' ELSE jsonb_build_array(e.data->'review') END)"
        f" WITH ORDINALITY AS x(st, i)"
        f" WHERE e.id = ANY($1::uuid[]) ORDER BY e.tx_id, e.position, x.i"
        f" ON CONFLICT DO NOTHING", event_ids, adopted_type)
