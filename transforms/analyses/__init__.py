"""Analyses: queries compiled to SQL under target/compiled/, never materialized."""
