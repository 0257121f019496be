"""Run the app database migrations from code; no ``alembic.ini`` is needed at runtime.

The core's revisions live in ``careflow/db/migrations/versions``; every plugin that owns
tables ships its own versions folder (``CarePlugin.migrations``). Alembic reads them all as one
revision graph through ``version_locations``: the core's chain from ``0001`` and one branch per
plugin unit, each based on ``0001``.

A revision the database records but no loaded plugin provides (its module was uninstalled) is
*orphaned*: :func:`upgrade` leaves its tables and its ``alembic_version`` row alone, says so in
its report, and upgrades every other branch. Nothing is ever dropped automatically.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alembic.config import Config
from alembic.runtime.environment import EnvironmentContext
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from careflow.db.engine import make_engine

if TYPE_CHECKING:
    from careflow.contract import CarePlugin

__all__ = [
    "MIGRATIONS_DIR",
    "VERSIONS_DIR",
    "MigrationReport",
    "alembic_config",
    "current_revision",
    "head_revision",
    "orphan_message",
    "orphaned_revisions",
    "upgrade",
    "version_locations",
]

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
"""The alembic script location (``env.py``), shipped inside the package."""

VERSIONS_DIR = MIGRATIONS_DIR / "versions"
"""The core's own revisions: ``0001`` and the core tables' revisions after it."""


@dataclass(frozen=True, slots=True)
class MigrationReport:
    """What :func:`upgrade` did.

    Attributes:
        applied: The revisions it ran, in order (empty when the database was up to date).
        orphaned: Revisions the database records that no loaded plugin provides; their
            tables and version rows were left as they were.
    """

    applied: tuple[str, ...] = ()
    orphaned: tuple[str, ...] = ()


def _chosen(plugins: Iterable[CarePlugin] | None) -> list[CarePlugin]:
    """The given plugins, else every installed one (validated: folders exist, ids unique)."""
    from careflow.registry import check_migrations, discover_plugins

    chosen = discover_plugins() if plugins is None else list(plugins)
    check_migrations(chosen)
    return chosen


def version_locations(*, plugins: Iterable[CarePlugin] | None = None) -> list[Path]:
    """The core's versions folder, then every plugin's migrations folders in load order.

    Args:
        plugins: The plugins whose migrations count; every installed plugin
            (:func:`careflow.registry.discover_plugins`) when omitted.

    Raises:
        PluginError: A declared folder does not exist, or holds a revision id another folder
            holds too; names the plugin.
    """
    return [VERSIONS_DIR, *(f for p in _chosen(plugins) for f in p.migration_folders())]


def alembic_config(url: str, *, plugins: Iterable[CarePlugin] | None = None) -> Config:
    """An alembic Config for the database at ``url``.

    Args:
        url: SQLAlchemy URL of the app database.
        plugins: The plugins whose migrations count (the registry's); every installed plugin
            when omitted.

    Returns:
        A Config whose script location is the packaged migrations directory and whose version
        locations are the core's and the plugins' folders.
    """
    config = Config()
    config.set_main_option("script_location", MIGRATIONS_DIR.as_posix())
    # One folder per path-list entry, so folder names may hold spaces or commas; ``%`` is
    # interpolation syntax in alembic options, hence doubled.
    config.set_main_option("path_separator", "os")
    folders = os.pathsep.join(p.as_posix() for p in version_locations(plugins=plugins))
    config.set_main_option("version_locations", folders.replace("%", "%%"))
    # The URL travels as an attribute for the same reason (``env.py`` reads it there).
    config.attributes["url"] = url
    return config


def _known(script: ScriptDirectory) -> set[str]:
    return {s.revision for s in script.walk_revisions()}


def upgrade(
    url: str, revision: str = "heads", *, plugins: Iterable[CarePlugin] | None = None
) -> MigrationReport:
    """Migrate the database at ``url`` up to ``revision``, leaving orphaned branches alone.

    Alembic refuses a database whose version table names a revision it cannot find ("Can't
    locate revision"), which is what a module's uninstalling leaves behind. Here the
    recorded revisions no loaded plugin provides are kept out of alembic's plan, so only the
    known branches move; their rows stay in the version table, their tables in the database.

    Args:
        url: SQLAlchemy URL of the app database; a SQLite file and its directory are created.
        revision: Target revision; ``"heads"`` by default, because service modules keep their
            tables on branches of their own (``eldercare_health``, ``childcare_microwish`` …).
        plugins: The plugins whose migrations count (the registry's); every installed plugin
            when omitted.

    Returns:
        The revisions run and the orphaned ones.

    Raises:
        PluginError: A plugin's migrations folder is missing or repeats a revision id.
    """
    config = alembic_config(url, plugins=plugins)
    script = ScriptDirectory.from_config(config)
    known = _known(script)
    applied: list[str] = []
    orphaned: list[str] = []

    def plan(heads: Sequence[str], _context: MigrationContext) -> list[Any]:
        orphaned.extend(sorted(h for h in heads if h not in known))
        kept = tuple(h for h in heads if h in known)
        # What ``alembic.command.upgrade`` plans, from the known heads only (alembic passes
        # the heads tuple too, though the method is annotated with a single revision).
        steps: list[Any] = script._upgrade_revs(revision, kept)  # type: ignore[arg-type]
        applied.extend(step.revision.revision for step in steps)
        return steps

    try:
        with EnvironmentContext(
            config,
            script,
            fn=plan,
            as_sql=False,
            starting_rev=None,
            destination_rev=revision,
            tag=None,
        ):
            script.run_env()
    except Exception as err:
        if orphaned:
            # A module downgraded below its recorded revision looks like an orphan beside a
            # branch to create again, whose tables exist already.
            err.add_note(
                f"orphaned revisions {', '.join(orphaned)}: if a module was downgraded below "
                "the revision it recorded, reinstall the newer version"
            )
        raise
    return MigrationReport(applied=tuple(applied), orphaned=tuple(orphaned))


def _recorded(url: str) -> tuple[str, ...]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return tuple(MigrationContext.configure(connection).get_current_heads())
    finally:
        engine.dispose()


def current_revision(url: str) -> str | None:
    """The revisions the database at ``url`` is at (comma-separated, one per branch), or None
    before the first migration. Orphaned revisions are included: the database records them."""
    return ",".join(sorted(_recorded(url))) or None


def orphaned_revisions(url: str, *, plugins: Iterable[CarePlugin] | None = None) -> list[str]:
    """Revisions the database at ``url`` records that none of ``plugins`` provides, sorted.

    Args:
        url: SQLAlchemy URL of the app database.
        plugins: The loaded plugins (the registry's); every installed plugin when omitted.
    """
    known = _known(ScriptDirectory.from_config(alembic_config(url, plugins=plugins)))
    return sorted(h for h in _recorded(url) if h not in known)


def orphan_message(revision: str) -> str:
    """The warning for an orphaned revision, in Chinese and English."""
    return (
        f"孤立的迁移 orphaned migration {revision}: 没有已加载的插件提供它(模块已卸载?) "
        "no loaded plugin provides it (module uninstalled, or left out by CAREFLOW_PLUGINS); "
        "其数据表和版本记录保持不变,从不自动删除 its tables and version row are kept, "
        "never dropped automatically"
    )


def head_revision(*, plugins: Iterable[CarePlugin] | None = None) -> str | None:
    """The newest revisions the core and ``plugins`` ship, as ``current_revision``.

    Args:
        plugins: The plugins whose migrations count (the registry's); every installed plugin
            when omitted.
    """
    heads = ScriptDirectory.from_config(alembic_config("sqlite://", plugins=plugins)).get_heads()
    return ",".join(sorted(heads)) or None
