"""Registers the shared fixtures of serve_fixtures.py (helpers live there, importable by the tests)."""

from serve_fixtures import checkpoint  # noqa: F401
