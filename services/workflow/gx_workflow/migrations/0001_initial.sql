-- The workflow schema as gx_workflow.adapters.schema created it at start before migrations
-- existed. IF NOT EXISTS: a schema made that way adopts the migrations without change. Names
-- resolve in the service's schema (the runner sets search_path). Chain seeds and the division
-- tree are data, loaded after the migrations by schema.setup_schema.
CREATE TABLE IF NOT EXISTS chain_configs (
    subject_kind text NOT NULL, version integer NOT NULL, config jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (subject_kind, version));
CREATE TABLE IF NOT EXISTS divisions (
    code text PRIMARY KEY, name text NOT NULL, level smallint NOT NULL,
    parent_code text, urban_rural_code text, village_count integer NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS divisions_parent ON divisions (parent_code);
CREATE TABLE IF NOT EXISTS cases (
    case_id uuid PRIMARY KEY, subject_kind text NOT NULL, subject_id text NOT NULL,
    division_code text NOT NULL, task_id text, status text NOT NULL, level text NOT NULL,
    version integer NOT NULL, revision integer NOT NULL, arrived_at timestamptz NOT NULL,
    opened_at timestamptz NOT NULL, deadline timestamptz, late boolean NOT NULL,
    view jsonb NOT NULL);
CREATE INDEX IF NOT EXISTS cases_queue ON cases (level, division_code text_pattern_ops,
    arrived_at) WHERE status <> 'accepted';
CREATE INDEX IF NOT EXISTS cases_progress ON cases (task_id, division_code text_pattern_ops)
    INCLUDE (status, level, late, deadline);
CREATE INDEX IF NOT EXISTS cases_deadline ON cases (deadline)
    WHERE status = 'in_review' AND NOT late;
-- Id of the transaction that last changed the row: live progress streams find the cases
-- changed since they last looked, gap-free (see application/live.py).
ALTER TABLE cases ADD COLUMN IF NOT EXISTS changed_tx bigint NOT NULL DEFAULT 0;
CREATE INDEX IF NOT EXISTS cases_changes ON cases (task_id, changed_tx);
-- Who accepted last (乡镇数据验收 while still in review = accepted early); null otherwise.
ALTER TABLE cases ADD COLUMN IF NOT EXISTS accepted_level text;
CREATE TABLE IF NOT EXISTS case_steps (
    case_id uuid NOT NULL, version integer NOT NULL, event_id uuid NOT NULL,
    event_type text NOT NULL, action text NOT NULL, at timestamptz NOT NULL,
    actor text, actor_name text, role text, division text, device text,
    from_level text, to_level text, revision integer, comment text, reason_code text,
    reason text, field_notes jsonb NOT NULL DEFAULT '{}',
    PRIMARY KEY (case_id, version));
-- Acceptance steps: final (确认) or early (数据验收); null for other steps.
ALTER TABLE case_steps ADD COLUMN IF NOT EXISTS final boolean;
