-- The agri read models as gx_agri.adapters.schema created them at start before migrations
-- existed. IF NOT EXISTS: a schema made that way adopts the migrations without change. Names
-- resolve in the service's schema (the runner sets search_path). The division tree is data,
-- loaded after the migrations by schema.setup.
CREATE TABLE IF NOT EXISTS divisions (
    code text PRIMARY KEY, name text NOT NULL, level smallint NOT NULL,
    parent_code text, urban_rural_code text);
CREATE INDEX IF NOT EXISTS divisions_level_code ON divisions (level, code text_pattern_ops);
CREATE TABLE IF NOT EXISTS tasks (
    task_id uuid PRIMARY KEY, form_code text NOT NULL, form_version int NOT NULL,
    period text NOT NULL, title text NOT NULL, scope_division text NOT NULL,
    scope_prefix text NOT NULL, deadline timestamptz NOT NULL, published_by text NOT NULL,
    published_at timestamptz NOT NULL DEFAULT now(), village_count int NOT NULL,
    version int NOT NULL);
CREATE TABLE IF NOT EXISTS reports (
    report_id uuid PRIMARY KEY, task_id uuid NOT NULL, village_code text NOT NULL,
    form_code text NOT NULL, form_version int NOT NULL, period text NOT NULL,
    status text NOT NULL DEFAULT 'not_started', version int NOT NULL DEFAULT 0,
    revision int NOT NULL DEFAULT 0, vals jsonb NOT NULL DEFAULT '{}',
    explanations jsonb NOT NULL DEFAULT '{}', case_id uuid,
    approved_rank smallint NOT NULL DEFAULT 0, review_level text,
    return_reason_code text, return_reason text, return_from_level text,
    field_notes jsonb NOT NULL DEFAULT '{}', submitted_at timestamptz,
    updated_at timestamptz NOT NULL DEFAULT now());
-- who accepted (数据验收) and who confirmed (最终确认) the current revision
ALTER TABLE reports ADD COLUMN IF NOT EXISTS accepted_level text;
ALTER TABLE reports ADD COLUMN IF NOT EXISTS confirmed_level text;
CREATE UNIQUE INDEX IF NOT EXISTS reports_task_village
    ON reports (task_id, village_code text_pattern_ops);
CREATE INDEX IF NOT EXISTS reports_village ON reports (village_code, form_code, status);
CREATE TABLE IF NOT EXISTS review_log (
    event_id uuid PRIMARY KEY, report_id uuid NOT NULL, type text NOT NULL,
    data jsonb NOT NULL, metadata jsonb NOT NULL, at timestamptz NOT NULL);
CREATE INDEX IF NOT EXISTS review_log_report ON review_log (report_id, at);
