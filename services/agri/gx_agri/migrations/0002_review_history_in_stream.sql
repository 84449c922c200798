-- Reports from before agri.report.review_followed (issue 9): the review moves they followed
-- (approve, return to a level, reopen …) lived only in the row's lifecycle columns, and their
-- review history only in review_log. One agri.report.history_adopted event per such report,
-- at the end of its stream, carries both, so a rebuild from agri's events alone loses neither
-- (the read models' reset empties these tables). A schema without reports changes nothing;
-- one without the kernel's tables (read models only) has no events to add to.
DO $$
BEGIN
    IF to_regclass('events') IS NULL OR to_regclass('streams') IS NULL THEN
        RETURN;
    END IF;
    CREATE TEMPORARY TABLE adopted ON COMMIT DROP AS
    SELECT r.report_id, 'report-' || r.report_id::text AS stream_id,
           coalesce(st.version, 0) + 1 AS version,
           jsonb_build_object(
               'report_id', r.report_id,
               'standing', jsonb_build_object(
                   'status', r.status, 'revision', r.revision, 'review_level', r.review_level,
                   'approved_rank', r.approved_rank, 'case_id', r.case_id,
                   'accepted_level', r.accepted_level, 'confirmed_level', r.confirmed_level,
                   'returned_from', r.return_from_level),
               'review', coalesce((
                   SELECT jsonb_agg(jsonb_build_object(
                              'event_id', l.event_id, 'type', l.type, 'schema_version', 1,
                              'data', l.data, 'metadata', l.metadata, 'at', to_jsonb(l.at))
                          ORDER BY l.at, l.event_id)
                   FROM review_log l WHERE l.report_id = r.report_id), '[]'::jsonb)) AS data
    FROM reports r LEFT JOIN streams st ON st.stream_id = 'report-' || r.report_id::text
    WHERE r.version > 0 OR EXISTS (SELECT 1 FROM review_log l WHERE l.report_id = r.report_id);

    INSERT INTO streams (stream_id, version, last_tx_id)
    SELECT stream_id, version, pg_current_xact_id()::text::bigint FROM adopted
    ON CONFLICT (stream_id) DO UPDATE
        SET version = excluded.version, last_tx_id = excluded.last_tx_id;
    INSERT INTO events (id, stream_id, version, type, schema_version, data, metadata)
    SELECT gen_random_uuid(), a.stream_id, a.version, 'agri.report.history_adopted', 1, a.data,
           jsonb_build_object('actor', 'system', 'role', 'ops',
                              'causation_id', 'gx_agri/0002_review_history_in_stream')
    FROM adopted a ORDER BY a.report_id;
    UPDATE reports r SET version = a.version, updated_at = now()
    FROM adopted a WHERE a.report_id = r.report_id;
END
$$;
