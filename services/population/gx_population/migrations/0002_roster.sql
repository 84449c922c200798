-- 户主姓名底册 (sealed head names) and its 复议 record on the area; the access log also
-- records roster reads (no household then).
ALTER TABLE areas ADD COLUMN IF NOT EXISTS roster jsonb NOT NULL DEFAULT '[]';
ALTER TABLE areas ADD COLUMN IF NOT EXISTS roster_reviews jsonb NOT NULL DEFAULT '[]';
ALTER TABLE access_log ALTER COLUMN household_id DROP NOT NULL;
ALTER TABLE access_log ADD COLUMN IF NOT EXISTS area_id uuid;
