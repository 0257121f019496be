"""Alembic migrations of the app database (script location of ``careflow.db.migrate``)."""
