-- 调查小区核实更正的逐级审批 (the open or last correction, its lifecycle state as the events
-- decided it), the verified area code, and the area map (小区图): the image bytes are kept
-- once per SHA-256 in area_map_images (written with the upload's event, never by a
-- projection, so a rebuild keeps them); the area row names the current one.
ALTER TABLE areas ADD COLUMN IF NOT EXISTS correction jsonb;
ALTER TABLE areas ADD COLUMN IF NOT EXISTS correction_id uuid;
ALTER TABLE areas ADD COLUMN IF NOT EXISTS verified_area_code text;
ALTER TABLE areas ADD COLUMN IF NOT EXISTS map jsonb;
CREATE INDEX IF NOT EXISTS areas_correction ON areas (correction_id);
CREATE TABLE IF NOT EXISTS area_map_images (
    sha256 text PRIMARY KEY, content_type text NOT NULL, size int NOT NULL,
    image bytea NOT NULL, created_at timestamptz NOT NULL DEFAULT now(),
    CHECK (content_type IN ('image/png', 'image/jpeg')), CHECK (size = octet_length(image)));
