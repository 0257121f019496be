"""Alembic revisions of this plugin's tables (alembic itself skips this file)."""
