"""Core: dimensions and facts."""
