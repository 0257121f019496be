"""Migrations create the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import SQLModel

from careflow.db import current_revision, head_revision, make_engine, upgrade
from careflow.db.migrate import MIGRATIONS_DIR, alembic_config

TABLES = {
    "area",
    "case_record",
    "donor",
    "guardian",
    "household",
    "household_member",
    "notification",
    "pairing",
    "person",
    "provider",
    "staff",
    "task",
    "volunteer",
}


def test_migrations_ship_inside_the_package() -> None:
    assert (MIGRATIONS_DIR / "env.py").is_file()
    assert (MIGRATIONS_DIR / "script.py.mako").is_file()
    assert (MIGRATIONS_DIR / "versions" / "0001_initial.py").is_file()
    assert head_revision() is not None


def test_upgrade_creates_sqlite_file_and_directory(tmp_path: Path) -> None:
    url = f"sqlite:///{(tmp_path / 'nested' / 'dir' / 'app.db').as_posix()}"
    assert current_revision(url) is None

    upgrade(url)

    assert (tmp_path / "nested" / "dir" / "app.db").is_file()
    assert current_revision(url) == head_revision()


def test_schema_matches_models(any_database_url: str) -> None:
    engine = make_engine(any_database_url)
    try:
        assert TABLES <= set(inspect(engine).get_table_names())
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, SQLModel.metadata) == []
    finally:
        engine.dispose()
    assert current_revision(any_database_url) == head_revision()


def test_upgrade_is_repeatable_and_downgrade_round_trips(any_database_url: str) -> None:
    upgrade(any_database_url)  # already at head: nothing to do
    command.downgrade(alembic_config(any_database_url), "base")
    assert current_revision(any_database_url) is None
    engine = make_engine(any_database_url)
    try:
        assert not TABLES & set(inspect(engine).get_table_names())
    finally:
        engine.dispose()

    upgrade(any_database_url)

    assert current_revision(any_database_url) == head_revision()
