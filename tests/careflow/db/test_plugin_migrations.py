"""Plugins own their migrations: each unit ships its revisions, the core runs them all, and a
module's uninstalling leaves its tables and version row alone.

On SQLite and, with ``CAREFLOW_TEST_DATABASE_URL``, PostgreSQL (``tests/db_fixtures.py``).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import inspect, text
from sqlmodel import SQLModel
from typer.testing import CliRunner

from careflow.contract import CarePlugin
from careflow.db import current_revision, head_revision, make_engine, upgrade
from careflow.db.migrate import (
    MIGRATIONS_DIR,
    VERSIONS_DIR,
    alembic_config,
    orphan_message,
    orphaned_revisions,
    version_locations,
)
from careflow.errors import PluginError
from careflow.registry import PluginRegistry
from cli import app, plugins_cmd
from plugins.engine import plugin as engine_plugin
from tests.support.plugins import BUILT_IN

FIXTURE = Path(__file__).parent / "fixtures" / "outside_migrations"
OUTSIDE_REVISION = "0002_outside_visits"

# Every head the database had when all revisions lived in careflow/db/migrations/versions:
# moving the files changed no revision id, so these are the heads still (with the branches
# added since, such as the reports plugin's, which the old layout test copies in as well).
OLD_HEADS = (
    "0002_childcare_classroom,0002_childcare_dining,0002_childcare_microwish,"
    "0002_childcare_places,0002_eldercare_curtain,0002_eldercare_green_channel,"
    "0002_eldercare_health,0002_eldercare_pension,0002_eldercare_tiers,"
    "0002_privacy_retention,0002_reports_files,0007_core_figures_indexes"
)

CORE_FILES = {
    "0001_initial.py",
    "0002_core_family_doctor.py",
    "0003_core_worker_presence.py",
    "0004_core_access.py",
    "0005_core_consent.py",
    "0006_core_ingress.py",
    "0007_core_figures_indexes.py",
}

PLUGINS_ROOT = Path(__file__).resolve().parents[3] / "plugins"
UNIT_FILES = {
    "eldercare/health": "0002_eldercare_health.py",
    "eldercare/curtain": "0002_eldercare_curtain.py",
    "eldercare/tiers": "0002_eldercare_tiers.py",
    "eldercare/pension": "0002_eldercare_pension.py",
    "eldercare/green_channel": "0002_eldercare_green_channel.py",
    "childcare/microwish": "0002_childcare_microwish.py",
    "childcare/places": "0002_childcare_places.py",
    "childcare/dining": "0002_childcare_dining.py",
    "childcare/classroom": "0002_childcare_classroom.py",
    "privacy": "0002_privacy_retention.py",
    "reports": "0002_reports_files.py",
}


def outside_plugin(migrations: Path | str | None = FIXTURE, name: str = "outside") -> CarePlugin:
    """A plugin from outside the repository that owns one table."""
    return CarePlugin(
        name=name,
        version="1.0.0",
        title_zh="外部插件",
        title_en="Outside plugin",
        migrations=migrations,
    )


def to_base(url: str) -> None:
    """Empty the database (the fixtures hand it over migrated)."""
    command.downgrade(alembic_config(url, plugins=BUILT_IN), "base")
    assert current_revision(url) is None


def tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def version_rows(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT version_num FROM alembic_version"))
            return {row[0] for row in rows}
    finally:
        engine.dispose()


def old_layout_config(url: str, folder: Path) -> Config:
    """Alembic as it was before: every revision file in one versions folder."""
    folder.mkdir()
    for location in version_locations(plugins=BUILT_IN):
        for file in location.glob("0*.py"):
            shutil.copy(file, folder / file.name)
    config = Config()
    config.set_main_option("script_location", MIGRATIONS_DIR.as_posix())
    config.set_main_option("path_separator", "os")
    config.set_main_option("version_locations", folder.as_posix())
    config.attributes["url"] = url
    return config


# --- layout ---------------------------------------------------------------------------------


def test_each_unit_ships_its_revision_and_the_core_keeps_its_own() -> None:
    assert {f.name for f in VERSIONS_DIR.glob("0*.py")} == CORE_FILES
    declared = {folder for plugin in BUILT_IN for folder in plugin.migration_folders()}
    for unit, file in UNIT_FILES.items():
        folder = PLUGINS_ROOT / unit / "migrations"
        assert folder in declared, unit
        assert {f.name for f in folder.glob("0*.py")} == {file}
        # A package, so setuptools' ``packages.find`` ships the revision with the plugin.
        assert (folder / "__init__.py").is_file()
    assert len(declared) == len(UNIT_FILES)


def test_heads_are_the_old_layouts() -> None:
    assert head_revision(plugins=BUILT_IN) == OLD_HEADS
    assert head_revision(plugins=[]) == "0007_core_figures_indexes"


# --- upgrading ------------------------------------------------------------------------------


def test_database_of_the_old_layout_upgrades_as_a_no_op(
    any_database_url: str, tmp_path: Path
) -> None:
    to_base(any_database_url)
    command.upgrade(old_layout_config(any_database_url, tmp_path / "old_versions"), "heads")
    assert current_revision(any_database_url) == OLD_HEADS
    before = tables(any_database_url)

    report = upgrade(any_database_url, plugins=BUILT_IN)

    assert report.applied == () and report.orphaned == ()
    assert current_revision(any_database_url) == head_revision(plugins=BUILT_IN)
    assert tables(any_database_url) == before


def test_empty_database_upgrades_to_every_head(any_database_url: str) -> None:
    to_base(any_database_url)

    report = upgrade(any_database_url, plugins=BUILT_IN)

    assert set(OLD_HEADS.split(",")) <= set(report.applied)
    assert report.orphaned == ()
    assert current_revision(any_database_url) == head_revision(plugins=BUILT_IN)
    # Every table the core and the built-in plugins define (their modules are imported).
    assert set(SQLModel.metadata.tables) <= tables(any_database_url)


def test_an_outside_plugins_migrations_are_picked_up(any_database_url: str) -> None:
    plugins = [*BUILT_IN, outside_plugin()]
    assert OUTSIDE_REVISION in (head_revision(plugins=plugins) or "").split(",")

    report = upgrade(any_database_url, plugins=plugins)

    assert report.applied == (OUTSIDE_REVISION,)
    assert "ox_visit" in tables(any_database_url)
    assert current_revision(any_database_url) == head_revision(plugins=plugins)


def test_an_orphaned_branch_keeps_its_tables_and_the_rest_upgrades(any_database_url: str) -> None:
    with_outside = [*BUILT_IN, outside_plugin()]
    upgrade(any_database_url, plugins=with_outside)
    # One known branch behind, so there is something left to upgrade.
    command.downgrade(
        alembic_config(any_database_url, plugins=with_outside), "privacy_retention@-1"
    )
    assert "0002_privacy_retention" not in version_rows(any_database_url)

    # The outside plugin is uninstalled; plain alembic would stop at "Can't locate revision".
    report = upgrade(any_database_url, plugins=BUILT_IN)

    assert report.orphaned == (OUTSIDE_REVISION,)
    assert report.applied == ("0002_privacy_retention",)
    assert "ox_visit" in tables(any_database_url)
    assert OUTSIDE_REVISION in version_rows(any_database_url)
    assert orphaned_revisions(any_database_url, plugins=BUILT_IN) == [OUTSIDE_REVISION]
    assert "0002_privacy_retention" in version_rows(any_database_url)
    # Upgrading again changes nothing; reinstalling the plugin finds its branch where it was.
    assert upgrade(any_database_url, plugins=BUILT_IN).applied == ()
    assert upgrade(any_database_url, plugins=with_outside).applied == ()
    assert orphaned_revisions(any_database_url, plugins=with_outside) == []


def test_orphan_message_names_the_revision_in_both_languages() -> None:
    message = orphan_message(OUTSIDE_REVISION)
    assert OUTSIDE_REVISION in message
    assert "孤立的迁移" in message and "orphaned migration" in message
    assert "never dropped" in message


# --- the commands ---------------------------------------------------------------------------


@pytest.fixture
def cli_database(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A SQLite database with the outside plugin's branch, for the installed plugins' CLI."""
    upgrade(database_url, plugins=[*BUILT_IN, outside_plugin()])
    monkeypatch.setenv("CAREFLOW_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CAREFLOW_DATABASE_URL", database_url)
    monkeypatch.setenv("CAREFLOW_TEMPORAL_ADDRESS", "127.0.0.1:1")
    monkeypatch.delenv("CAREFLOW_PLUGIN_CONFIG", raising=False)
    return database_url


def test_migrate_command_says_what_is_orphaned_and_succeeds(cli_database: str) -> None:
    runner = CliRunner()

    result = runner.invoke(app, ["migrate", "--json"])

    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["orphaned"] == [OUTSIDE_REVISION]
    assert orphan_message(OUTSIDE_REVISION) in result.stderr
    text_result = runner.invoke(app, ["migrate"])
    assert text_result.exit_code == 0, text_result.stderr
    assert "数据库已迁移 database migrated" in text_result.stdout
    assert OUTSIDE_REVISION in text_result.stderr
    assert "ox_visit" in tables(cli_database)


def test_plugins_check_lists_orphaned_migrations(
    cli_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def no_running(_: Any) -> list[Any]:
        return []

    monkeypatch.setattr(plugins_cmd, "_dependencies", no_running)
    runner = CliRunner()

    result = runner.invoke(app, ["plugins", "check"])
    as_json = runner.invoke(app, ["plugins", "check", "--json"])

    assert result.exit_code == 0, result.stderr
    assert orphan_message(OUTSIDE_REVISION) in result.stdout
    assert as_json.exit_code == 0, as_json.stderr
    assert json.loads(as_json.stdout) == [
        {
            "kind": "orphaned_migration",
            "plugin": None,
            "revision": OUTSIDE_REVISION,
            "missing": False,
            "workflow_ids": [],
        }
    ]


def test_commands_acting_on_the_database_accept_an_orphan(cli_database: str) -> None:
    # ``require_migrated`` compares with the loaded plugins' heads only.
    result = CliRunner().invoke(app, ["tasks", "--json"])
    assert result.exit_code == 0, result.stderr


# --- broken declarations --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("declared", "problem"),
    [
        (FIXTURE.parent / "no_such_folder", "does not exist"),
        ("relative/migrations", "not an absolute path"),
        (PLUGINS_ROOT / "privacy" / "migrations", "also held by plugin 'privacy'"),
        (VERSIONS_DIR, "also held by the careflow core"),
    ],
)
def test_a_broken_declaration_names_the_plugin(declared: Path | str, problem: str) -> None:
    broken = outside_plugin(declared, name="broken")
    privacy = next(p for p in BUILT_IN if p.name == "privacy")

    with pytest.raises(PluginError, match=problem) as raised:
        PluginRegistry.build([engine_plugin, privacy, broken])
    assert raised.value.plugin == "broken"
    with pytest.raises(PluginError, match=problem):
        head_revision(plugins=[privacy, broken])


def test_two_plugins_with_the_same_revision_are_refused(tmp_path: Path) -> None:
    copy = shutil.copytree(FIXTURE, tmp_path / "copy")
    first, second = outside_plugin(), outside_plugin(copy, name="second")

    with pytest.raises(PluginError, match=f"{OUTSIDE_REVISION!r} is also held by plugin") as err:
        PluginRegistry.build([engine_plugin, first, second])
    assert err.value.plugin == "second"
    assert "'outside'" in str(err.value)
