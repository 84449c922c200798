-- The organisation read models. Names resolve in the service's schema (the runner sets
-- search_path). The division tree is data, loaded after the migrations by schema.setup.
CREATE TABLE divisions (
    code text PRIMARY KEY, name text NOT NULL, level smallint NOT NULL, parent_code text);
CREATE INDEX divisions_level_code ON divisions (level, code text_pattern_ops);
