-- The form row keeps the whole lifecycle state (approvals so far), like agri's report row.
ALTER TABLE unit_forms ADD COLUMN approved_rank integer NOT NULL DEFAULT 0;
ALTER TABLE unit_forms ADD COLUMN return_from_level text;
