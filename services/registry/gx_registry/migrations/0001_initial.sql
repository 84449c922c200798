-- Read models of the registry service (基本单位名录库). Unqualified names: the runner sets
-- search_path to the service schema. The record of truth is the event store.

CREATE TABLE units (
    unit_id        uuid PRIMARY KEY,
    uscc           text,
    name           text NOT NULL,
    address        text,
    legal_rep      text,
    status         text,
    reg_no         text,
    phone          text,
    industry_code  text,
    division_code  text NOT NULL,          -- lowest level placed (12 digits)
    county_code    text NOT NULL,          -- first 6 digits, padded: matching block
    placed_level   text NOT NULL,
    placement      jsonb NOT NULL DEFAULT '{}',
    unit_kind      text NOT NULL,
    unit_type      text,
    classification jsonb NOT NULL DEFAULT '{}',
    parent_id      uuid,
    flags          jsonb NOT NULL DEFAULT '[]',
    closed         boolean NOT NULL DEFAULT false,
    last_source    jsonb NOT NULL DEFAULT '{}',
    version        integer NOT NULL,
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX units_division ON units (division_code text_pattern_ops);
CREATE INDEX units_uscc ON units (uscc) WHERE uscc IS NOT NULL;

CREATE TABLE import_batches (
    batch_id        uuid PRIMARY KEY,
    department      text NOT NULL,
    mapping_version integer NOT NULL,
    file_name       text NOT NULL,
    file_bytes      bigint NOT NULL,
    file_sha256     text,                 -- known once the upload is complete
    scope_division  text NOT NULL,
    imported_by     text NOT NULL,
    status          text NOT NULL,        -- uploading | queued | processing | done | failed | duplicate
    received_bytes  bigint NOT NULL DEFAULT 0,
    rows_total      integer NOT NULL DEFAULT 0,
    rows_done       integer NOT NULL DEFAULT 0,
    good_rows       integer NOT NULL DEFAULT 0,
    bad_rows        integer NOT NULL DEFAULT 0,
    outcomes        jsonb NOT NULL DEFAULT '{}',
    stage           text NOT NULL DEFAULT '',
    failure         text,
    duplicate_of    uuid,
    created_at      timestamptz NOT NULL DEFAULT now(),
    finished_at     timestamptz
);
-- Re-importing the same file is a no-op: one finished batch per file hash.
CREATE UNIQUE INDEX import_batches_sha ON import_batches (file_sha256)
    WHERE status IN ('queued', 'processing', 'done');

CREATE TABLE import_parts (
    batch_id uuid NOT NULL REFERENCES import_batches ON DELETE CASCADE,
    part_no  integer NOT NULL,
    data     bytea NOT NULL,
    PRIMARY KEY (batch_id, part_no)
);

CREATE TABLE import_errors (
    batch_id    uuid NOT NULL,
    row_no      integer NOT NULL,
    field       text NOT NULL,
    code        text NOT NULL,
    reason      text NOT NULL,
    value       text
);
CREATE INDEX import_errors_batch ON import_errors (batch_id, row_no);

CREATE TABLE reviews (
    review_id     uuid PRIMARY KEY,
    batch_id      uuid NOT NULL,
    row_no        integer NOT NULL,
    division_code text NOT NULL,
    record        jsonb NOT NULL,
    candidates    uuid[] NOT NULL,
    explanation   jsonb NOT NULL,
    status        text NOT NULL DEFAULT 'open',   -- open | resolved
    decision      text,
    unit_id       uuid,
    reason        text,
    version       integer NOT NULL,
    UNIQUE (batch_id, row_no)
);
CREATE INDEX reviews_division ON reviews (division_code text_pattern_ops) WHERE status = 'open';

-- 任务底册: one row per unit and kind of task; holder = the division whose list it is on.
CREATE TABLE tasks (
    task_id        uuid PRIMARY KEY,
    kind           text NOT NULL,          -- new_unit_search | field_verification
    unit_id        uuid NOT NULL,
    placed_code    text NOT NULL,          -- where the address placed it (12 digits)
    holder_code    text NOT NULL,          -- whose list: region/county/township/village code
    holder_level   text NOT NULL,
    grid_id        uuid,
    status         text NOT NULL DEFAULT 'open',  -- open | surveyed | done
    reasons        jsonb NOT NULL DEFAULT '[]',
    source         jsonb NOT NULL DEFAULT '{}',
    last_move      jsonb,
    version        integer NOT NULL DEFAULT 0,
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tasks_holder ON tasks (holder_code text_pattern_ops);
CREATE INDEX tasks_unit ON tasks (unit_id);

CREATE TABLE grids (
    grid_id      uuid PRIMARY KEY,
    village_code text NOT NULL,
    grid_code    text NOT NULL UNIQUE,
    name         text NOT NULL,
    worker       text,
    version      integer NOT NULL
);
CREATE INDEX grids_village ON grids (village_code);

CREATE TABLE unit_forms (
    form_id        uuid PRIMARY KEY,
    unit_id        uuid,
    task_id        uuid,
    village_code   text NOT NULL,
    form_version   integer NOT NULL,
    vals           jsonb NOT NULL DEFAULT '{}',
    explanations   jsonb NOT NULL DEFAULT '{}',
    location       jsonb,
    status         text NOT NULL DEFAULT 'not_started',
    revision       integer NOT NULL DEFAULT 0,
    review_level   text,
    approvals      jsonb NOT NULL DEFAULT '[]',
    case_id        uuid,
    accepted_level text,
    confirmed_level text,
    return_reason  text,
    version        integer NOT NULL DEFAULT 0,
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX unit_forms_village ON unit_forms (village_code text_pattern_ops);

CREATE TABLE rounds (
    round_id       uuid PRIMARY KEY,
    period         text NOT NULL,
    scope_division text NOT NULL,
    title          text NOT NULL,
    opened_by      text NOT NULL,
    opened_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE confirmations (
    round_id      uuid NOT NULL,
    unit_id       uuid NOT NULL,
    division_code text NOT NULL,
    outcome       text NOT NULL,
    note          text NOT NULL DEFAULT '',
    confirmed_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (round_id, unit_id)
);
CREATE INDEX confirmations_division ON confirmations (round_id, division_code text_pattern_ops);
