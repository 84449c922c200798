"""Pure agricultural-statistics rules: forms, validation, report states (no I/O)."""
