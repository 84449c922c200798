-- 人口信息指标台账 (change reports, adjustments), 复查 (administrative figures and the
-- explanations of discrepancies), 事后质量抽查 (sample, teams, check records, match results).
-- Change reports and check records keep identifying fields sealed, as persons do.
CREATE TABLE IF NOT EXISTS ledger_changes (
    change_id uuid PRIMARY KEY, village_code text NOT NULL, month text NOT NULL,
    kind text NOT NULL, date text NOT NULL, sex text, person jsonb NOT NULL,
    reported_by text, at timestamptz NOT NULL);
CREATE INDEX IF NOT EXISTS ledger_changes_village ON ledger_changes (village_code text_pattern_ops, month);
CREATE TABLE IF NOT EXISTS ledger_adjustments (
    adjustment_id uuid PRIMARY KEY, village_code text NOT NULL, month text NOT NULL,
    indicator text NOT NULL, delta int NOT NULL, reason text NOT NULL, by_name text,
    at timestamptz NOT NULL);
CREATE INDEX IF NOT EXISTS ledger_adjustments_village ON ledger_adjustments (village_code text_pattern_ops, month);
CREATE TABLE IF NOT EXISTS admin_figures (
    area_id uuid PRIMARY KEY, households int NOT NULL, persons int NOT NULL,
    births int NOT NULL, deaths int NOT NULL, source text NOT NULL, at timestamptz NOT NULL);
CREATE TABLE IF NOT EXISTS discrepancy_notes (
    area_id uuid NOT NULL, indicator text NOT NULL, explanation text NOT NULL,
    corrected bool NOT NULL, by_name text, at timestamptz NOT NULL,
    PRIMARY KEY (area_id, indicator));
CREATE TABLE IF NOT EXISTS pes_samples (
    sample_id uuid PRIMARY KEY, survey_year int NOT NULL, seed text NOT NULL,
    frame_size int NOT NULL, area_codes jsonb NOT NULL, at timestamptz NOT NULL);
CREATE TABLE IF NOT EXISTS pes_teams (
    sample_id uuid NOT NULL, area_id uuid NOT NULL, usernames jsonb NOT NULL,
    PRIMARY KEY (sample_id, area_id));
CREATE TABLE IF NOT EXISTS pes_checks (
    check_id uuid PRIMARY KEY, sample_id uuid NOT NULL, area_id uuid NOT NULL,
    fields jsonb NOT NULL);
CREATE INDEX IF NOT EXISTS pes_checks_area ON pes_checks (sample_id, area_id);
CREATE TABLE IF NOT EXISTS pes_results (
    sample_id uuid NOT NULL, area_id uuid NOT NULL, area_code text NOT NULL,
    decisions jsonb NOT NULL, duplicates jsonb NOT NULL, insufficient jsonb NOT NULL,
    erroneous jsonb NOT NULL, c int NOT NULL, ii int NOT NULL, ce int NOT NULL,
    p int NOT NULL, m int NOT NULL, at timestamptz NOT NULL, PRIMARY KEY (sample_id, area_id));
