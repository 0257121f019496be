"""Alembic revisions of the aids-loan module's table (alembic itself skips this file)."""
