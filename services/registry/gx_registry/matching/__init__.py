"""Matching a department batch with the register stock (DuckDB bulk path)."""
