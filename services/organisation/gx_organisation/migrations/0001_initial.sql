-- The organisation read models (统计工作组织), projected from the service's own events in the
-- writer's transaction. Names resolve in the service's schema (the runner sets search_path).
-- The division tree is data, loaded after the migrations by schema.setup.
CREATE TABLE divisions (
    code text PRIMARY KEY, name text NOT NULL, level smallint NOT NULL, parent_code text);
CREATE INDEX divisions_level_code ON divisions (level, code text_pattern_ops);

CREATE TABLE offices (
    office_id uuid PRIMARY KEY, division_code text NOT NULL, kind text NOT NULL,
    name text NOT NULL, host_department text, establishment int NOT NULL,
    version int NOT NULL, updated_at timestamptz NOT NULL,
    UNIQUE (division_code, kind));

CREATE TABLE appointments (
    appointment_id uuid PRIMARY KEY, person_name text NOT NULL, role text NOT NULL,
    division_code text NOT NULL, staffing_mode text NOT NULL, start_date date NOT NULL,
    end_date date, account_username text, unit_name text,
    in_establishment boolean NOT NULL DEFAULT false, ended_reason text,
    version int NOT NULL, updated_at timestamptz NOT NULL);
CREATE INDEX appointments_division ON appointments (division_code text_pattern_ops, role);

CREATE TABLE reforms (
    year int PRIMARY KEY, reform_id uuid NOT NULL, title text NOT NULL,
    document_no text NOT NULL, phases jsonb NOT NULL, report_due_dates jsonb NOT NULL,
    choosing_cities jsonb NOT NULL, version int NOT NULL);
CREATE TABLE reform_counties (
    year int NOT NULL, county_code text NOT NULL, basis text NOT NULL,
    name_in_document text, chosen_by text, PRIMARY KEY (year, county_code));

CREATE TABLE plans (
    plan_id uuid PRIMARY KEY, year int NOT NULL, division_code text NOT NULL,
    title text NOT NULL, document_no text, approved_by text NOT NULL, approved_on date NOT NULL,
    filed_with text NOT NULL, filed_on date NOT NULL, version int NOT NULL,
    UNIQUE (year, division_code));

CREATE TABLE leading_groups (
    group_id uuid PRIMARY KEY, year int NOT NULL, division_code text NOT NULL,
    name text NOT NULL, members jsonb NOT NULL, version int NOT NULL,
    UNIQUE (year, division_code));

CREATE TABLE progress_reports (
    report_id uuid PRIMARY KEY, year int NOT NULL, due_date date NOT NULL,
    county_code text NOT NULL, status text NOT NULL DEFAULT 'not_started',
    version int NOT NULL DEFAULT 0, revision int NOT NULL DEFAULT 0,
    sections jsonb NOT NULL DEFAULT '{}', figures jsonb NOT NULL DEFAULT '{}',
    attachments jsonb NOT NULL DEFAULT '[]', case_id uuid, review_level text,
    approved_rank smallint NOT NULL DEFAULT 0, accepted_level text, confirmed_level text,
    returned_from text, return_reason_code text, return_reason text,
    submitted_at timestamptz, late boolean NOT NULL DEFAULT false,
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (county_code, due_date));
CREATE TABLE progress_review_log (
    event_id uuid PRIMARY KEY, report_id uuid NOT NULL, type text NOT NULL,
    data jsonb NOT NULL, metadata jsonb NOT NULL, at timestamptz NOT NULL);
CREATE INDEX progress_review_log_report ON progress_review_log (report_id, at);

CREATE TABLE subsidy_rates (
    year int NOT NULL, division_code text NOT NULL, rates jsonb NOT NULL, version int NOT NULL,
    PRIMARY KEY (year, division_code));
CREATE TABLE workloads (
    appointment_id uuid NOT NULL, period text NOT NULL, units int NOT NULL,
    PRIMARY KEY (appointment_id, period));

CREATE TABLE trainings (
    session_id uuid PRIMARY KEY, year int NOT NULL, division_code text NOT NULL,
    level text NOT NULL, title text NOT NULL, held_on date NOT NULL, audience jsonb NOT NULL,
    version int NOT NULL);
CREATE TABLE training_attendance (
    session_id uuid NOT NULL, appointment_id uuid NOT NULL, completed boolean NOT NULL,
    PRIMARY KEY (session_id, appointment_id));
CREATE INDEX training_attendance_person ON training_attendance (appointment_id);

CREATE TABLE assessments (
    year int NOT NULL, township_code text NOT NULL, assessment_id uuid NOT NULL,
    criteria_version int NOT NULL, scores jsonb NOT NULL, total numeric(5,2) NOT NULL,
    model_standard boolean NOT NULL, version int NOT NULL,
    PRIMARY KEY (year, township_code));
