-- The scope (区划) of each task a domain published: progress counts 应报 inside it only.
-- Filled by the intake consumer from any `*.task.published` event carrying `scope_division`;
-- not a projection of workflow's own events, so a rebuild keeps it.
CREATE TABLE IF NOT EXISTS task_scopes (
    task_id text PRIMARY KEY, scope_division text NOT NULL,
    source_event uuid, recorded_at timestamptz NOT NULL DEFAULT now());
