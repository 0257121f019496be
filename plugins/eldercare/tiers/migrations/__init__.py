"""Alembic revisions of this unit's tables (alembic itself skips this file)."""
