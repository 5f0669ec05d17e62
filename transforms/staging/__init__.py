"""Staging: one view per RAW table, renamed to snake_case and typed."""
