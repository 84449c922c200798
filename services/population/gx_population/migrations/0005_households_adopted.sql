-- Households from before population.household.review_followed existed kept their lifecycle
-- state (审核层级、案卷、验收) only in this row: a rebuild from the events lost it. Each household
-- gets one population.household.history_adopted event at the end of its stream carrying the
-- row as it stands (its person rows too, identifying fields sealed as stored), so a rebuild
-- gives the same rows. A schema without the kernel's tables (read models only) has no events
-- to add to.
DO $$
BEGIN
    IF to_regclass('events') IS NULL OR to_regclass('streams') IS NULL THEN
        RETURN;
    END IF;
    CREATE TEMPORARY TABLE adopted ON COMMIT DROP AS
    SELECT h.household_id, 'household-' || h.household_id::text AS stream_id,
           coalesce(st.version, 0) + 1 AS version,
           jsonb_build_object(
               'household_id', h.household_id, 'area_id', h.area_id,
               'area_code', h.area_code, 'village_code', h.village_code,
               'survey_year', h.survey_year, 'household_no', h.household_no,
               'form_version', h.form_version, 'enumerator', h.enumerator,
               'household', h.household, 'findings', h.findings, 'stage', h.stage,
               'standing', jsonb_build_object(
                   -- a handed-in household's lifecycle status is draft (the stage says the rest)
                   'status', CASE WHEN h.status = 'handed_in' THEN 'draft' ELSE h.status END,
                   'revision', h.revision, 'review_level', h.review_level,
                   'approved_rank', h.approved_rank, 'case_id', h.case_id,
                   'accepted_level', h.accepted_level, 'confirmed_level', h.confirmed_level,
                   'returned_from', h.return_from_level),
               'draft_version', h.draft_version, 'readback_version', h.readback_version,
               'readback', h.readback, 'return_reason', h.return_reason,
               'return_from_level', h.return_from_level, 'field_notes', h.field_notes,
               'persons', coalesce((
                   SELECT jsonb_agg(jsonb_build_object(
                       'person_id', p.person_id, 'position', p.position, 'fields', p.fields,
                       'age_band', p.age_band, 'erased', p.erased_at IS NOT NULL,
                       'erasure_reason', p.erasure_reason) ORDER BY p.position, p.person_id)
                   FROM persons p WHERE p.household_id = h.household_id), '[]'::jsonb)
           ) AS data
    FROM households h LEFT JOIN streams st ON st.stream_id = 'household-' || h.household_id::text;

    INSERT INTO streams (stream_id, version, last_tx_id)
    SELECT stream_id, version, pg_current_xact_id()::text::bigint FROM adopted
    ON CONFLICT (stream_id) DO UPDATE
        SET version = excluded.version, last_tx_id = excluded.last_tx_id;
    INSERT INTO events (id, stream_id, version, type, schema_version, data, metadata)
    SELECT gen_random_uuid(), a.stream_id, a.version, 'population.household.history_adopted', 1,
           a.data, jsonb_build_object('actor', 'system', 'role', 'ops',
                                      'causation_id', 'gx_population/0005_households_adopted')
    FROM adopted a ORDER BY a.household_id;
    UPDATE households h SET version = a.version, updated_at = now()
    FROM adopted a WHERE a.household_id = h.household_id;
END
$$;
