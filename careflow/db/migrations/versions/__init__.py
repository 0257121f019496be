"""Alembic revision scripts (alembic itself skips this file)."""
