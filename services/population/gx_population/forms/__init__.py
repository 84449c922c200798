"""Versioned form files of the population change survey (JSON, loaded by domain.forms)."""
