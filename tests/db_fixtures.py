"""Pytest plugin with app-database fixtures: migrated SQLite and (optionally) PostgreSQL.

Register it in ``tests/conftest.py`` with ``pytest_plugins = ["tests.db_fixtures"]``.

Fixtures:
    database_url: a fresh SQLite file in ``tmp_path``, migrated to the heads of the core and
        the built-in plugins (``tests.support.plugins.BUILT_IN``).
    engine: an engine on ``database_url``.
    pg_database_url: a fresh, migrated database on the PostgreSQL server named by
        ``CAREFLOW_TEST_DATABASE_URL``, dropped afterwards; skipped when the variable is unset.
    any_database_url / any_engine: parametrized over ``sqlite`` and ``postgresql``.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import make_url

from careflow.db.engine import make_engine
from careflow.db.migrate import upgrade
from tests.support.plugins import BUILT_IN

__all__ = [
    "BACKENDS",
    "PG_URL_ENV",
    "any_database_url",
    "any_engine",
    "database_url",
    "engine",
    "pg_database_url",
]

PG_URL_ENV = "CAREFLOW_TEST_DATABASE_URL"
BACKENDS = ("sqlite", "postgresql")


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """A fresh SQLite database file, migrated to head."""
    url = f"sqlite:///{(tmp_path / 'db' / 'careflow.db').as_posix()}"
    upgrade(url, plugins=BUILT_IN)
    return url


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """An engine on the migrated SQLite database."""
    eng = make_engine(database_url)
    yield eng
    eng.dispose()


@pytest.fixture
def pg_database_url() -> Iterator[str]:
    """A fresh, uniquely named PostgreSQL database, migrated to head and dropped afterwards."""
    base = os.environ.get(PG_URL_ENV)
    if not base:
        pytest.skip(f"{PG_URL_ENV} is not set")
    name = f"careflow_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        url = make_url(base).set(database=name).render_as_string(hide_password=False)
        upgrade(url, plugins=BUILT_IN)
        yield url
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture(params=BACKENDS)
def any_database_url(request: pytest.FixtureRequest) -> str:
    """A migrated database on each backend (the PostgreSQL one skipped without a server)."""
    fixture = "database_url" if request.param == "sqlite" else "pg_database_url"
    url: str = request.getfixturevalue(fixture)
    return url


@pytest.fixture
def any_engine(any_database_url: str) -> Iterator[Engine]:
    """An engine on ``any_database_url``."""
    eng = make_engine(any_database_url)
    yield eng
    eng.dispose()
