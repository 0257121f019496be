"""Run the app database migrations from code; no ``alembic.ini`` is needed at runtime."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext

from careflow.db.engine import make_engine

__all__ = ["MIGRATIONS_DIR", "alembic_config", "current_revision", "head_revision", "upgrade"]

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
"""The alembic script location, shipped inside the package."""


def alembic_config(url: str) -> Config:
    """An alembic Config for the database at ``url``.

    Args:
        url: SQLAlchemy URL of the app database.

    Returns:
        A Config whose script location is the packaged migrations directory.
    """
    config = Config()
    config.set_main_option("script_location", MIGRATIONS_DIR.as_posix())
    # ``%`` is interpolation syntax in alembic options, so the URL travels as an attribute.
    config.attributes["url"] = url
    return config


def upgrade(url: str, revision: str = "heads") -> None:
    """Migrate the database at ``url`` up to ``revision``.

    Args:
        url: SQLAlchemy URL of the app database; a SQLite file and its directory are created.
        revision: Target revision; ``"heads"`` by default, because service modules keep their
            tables on branches of their own (``0002_childcare``, ``0002_eldercare`` …).
    """
    command.upgrade(alembic_config(url), revision)


def current_revision(url: str) -> str | None:
    """The revisions the database at ``url`` is at (comma-separated, one per branch), or None
    before the first migration."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            heads = MigrationContext.configure(connection).get_current_heads()
            return ",".join(sorted(heads)) or None
    finally:
        engine.dispose()


def head_revision() -> str | None:
    """The newest revisions shipped with this version of careflow, as ``current_revision``."""
    from alembic.script import ScriptDirectory

    heads = ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads()
    return ",".join(sorted(heads)) or None
