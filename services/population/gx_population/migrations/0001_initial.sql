-- The population service's read models and the per-person key store (crypto-shredding).
-- Unqualified names: the runner sets search_path to the service schema. No table holds a
-- person's identifying fields in clear: persons.fields keeps them sealed (gxp1: tokens).
CREATE TABLE IF NOT EXISTS person_keys (
    person_id    text PRIMARY KEY,
    wrapped_key  bytea,
    key_version  text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    destroyed_at timestamptz,
    CHECK ((wrapped_key IS NULL) = (destroyed_at IS NOT NULL)));

CREATE TABLE IF NOT EXISTS exams (
    survey_year int PRIMARY KEY, pass_mark int NOT NULL, questions jsonb NOT NULL,
    version int NOT NULL, published_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE IF NOT EXISTS certifications (
    user_id text NOT NULL, survey_year int NOT NULL, username text NOT NULL,
    best_score int NOT NULL, passed bool NOT NULL, attempts int NOT NULL DEFAULT 1,
    updated_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (user_id, survey_year));

CREATE TABLE IF NOT EXISTS areas (
    area_id uuid PRIMARY KEY, survey_year int NOT NULL, area_code text NOT NULL,
    village_code text NOT NULL, name text NOT NULL, urban_rural_code text NOT NULL,
    verified bool NOT NULL DEFAULT false, boundary text, buildings jsonb,
    verified_name text, verified_urban_rural_code text, corrected bool NOT NULL DEFAULT false,
    version int NOT NULL, UNIQUE (survey_year, area_code));
CREATE INDEX IF NOT EXISTS areas_village ON areas (village_code text_pattern_ops, survey_year);
CREATE TABLE IF NOT EXISTS area_enumerators (
    area_id uuid NOT NULL REFERENCES areas, username text NOT NULL,
    PRIMARY KEY (area_id, username));

CREATE TABLE IF NOT EXISTS households (
    household_id uuid PRIMARY KEY, area_id uuid NOT NULL REFERENCES areas,
    area_code text NOT NULL, village_code text NOT NULL, survey_year int NOT NULL,
    household_no text NOT NULL, form_version text NOT NULL, enumerator text NOT NULL,
    stage text NOT NULL DEFAULT 'registering', status text NOT NULL DEFAULT 'draft',
    version int NOT NULL DEFAULT 0, revision int NOT NULL DEFAULT 0,
    draft_version int NOT NULL DEFAULT 0, readback_version int,
    readback jsonb, household jsonb NOT NULL DEFAULT '{}', findings jsonb NOT NULL DEFAULT '[]',
    person_count int NOT NULL DEFAULT 0, case_id uuid, review_level text,
    approved_rank smallint NOT NULL DEFAULT 0, accepted_level text, confirmed_level text,
    return_reason text, return_from_level text, field_notes jsonb NOT NULL DEFAULT '{}',
    updated_at timestamptz NOT NULL DEFAULT now(), UNIQUE (area_id, household_no));
CREATE INDEX IF NOT EXISTS households_village ON households (village_code text_pattern_ops);
CREATE TABLE IF NOT EXISTS persons (
    person_id uuid PRIMARY KEY, household_id uuid NOT NULL REFERENCES households,
    position int NOT NULL, fields jsonb NOT NULL, sex text, age_band text,
    erased_at timestamptz, erasure_reason text);
CREATE INDEX IF NOT EXISTS persons_household ON persons (household_id, position);

-- 个人信息访问审计 (projected from population.person_record.accessed)
CREATE TABLE IF NOT EXISTS access_log (
    event_id uuid PRIMARY KEY, at timestamptz NOT NULL, reader text NOT NULL,
    reader_name text, reader_role text NOT NULL, reader_division text NOT NULL,
    device text, household_id uuid NOT NULL, village_code text NOT NULL,
    person_ids jsonb NOT NULL, purpose text NOT NULL, reason_code text);
CREATE INDEX IF NOT EXISTS access_log_at ON access_log (at DESC);
