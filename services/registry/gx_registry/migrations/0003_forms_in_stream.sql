-- 基本单位情况表 as an event-sourced aggregate (registry.unit_form.opened / review_followed):
-- the form row is folded from the form's own events only. The round a form was opened for is
-- kept; forms from before, whose opening and lifecycle state lived only in this row, get one
-- registry.unit_form.history_adopted event at the end of their stream carrying the row as it
-- stood, so a rebuild from the registry's events loses nothing. A schema without the kernel's
-- tables (read models only) has no events to add to.
ALTER TABLE unit_forms ADD COLUMN IF NOT EXISTS round_id uuid;

DO $$
BEGIN
    IF to_regclass('events') IS NULL OR to_regclass('streams') IS NULL THEN
        RETURN;
    END IF;
    CREATE TEMPORARY TABLE adopted ON COMMIT DROP AS
    SELECT f.form_id, 'unitform-' || f.form_id::text AS stream_id,
           coalesce(st.version, 0) + 1 AS version,
           jsonb_strip_nulls(jsonb_build_object(
               'form_id', f.form_id, 'unit_id', f.unit_id, 'task_id', f.task_id,
               'village_code', f.village_code, 'form_version', f.form_version,
               'values', f.vals, 'explanations', f.explanations, 'location', f.location,
               'return_reason', f.return_reason)) || jsonb_build_object(
               'standing', jsonb_build_object(
                   'status', f.status, 'revision', f.revision, 'review_level', f.review_level,
                   'approved_rank', f.approved_rank, 'case_id', f.case_id,
                   'accepted_level', f.accepted_level, 'confirmed_level', f.confirmed_level,
                   'returned_from', f.return_from_level)) AS data
    FROM unit_forms f LEFT JOIN streams st ON st.stream_id = 'unitform-' || f.form_id::text;

    INSERT INTO streams (stream_id, version, last_tx_id)
    SELECT stream_id, version, pg_current_xact_id()::text::bigint FROM adopted
    ON CONFLICT (stream_id) DO UPDATE
        SET version = excluded.version, last_tx_id = excluded.last_tx_id;
    INSERT INTO events (id, stream_id, version, type, schema_version, data, metadata)
    SELECT gen_random_uuid(), a.stream_id, a.version, 'registry.unit_form.history_adopted', 1,
           a.data, jsonb_build_object('actor', 'system', 'role', 'ops',
                                      'causation_id', 'gx_registry/0003_forms_in_stream')
    FROM adopted a ORDER BY a.form_id;
    UPDATE unit_forms f SET version = a.version, updated_at = now()
    FROM adopted a WHERE a.form_id = f.form_id;
END
$$;
