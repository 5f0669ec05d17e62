"""Marts: tables shaped for analysts."""
