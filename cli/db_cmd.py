"""``careflow migrate`` and ``careflow seed-demo``: the app database."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated, Any

import typer

from careflow.settings import Settings
from cli.app import cli_errors, database, echo_json, echo_lines, redacted_url, state

if TYPE_CHECKING:
    from careflow.contract import CarePlugin

__all__ = ["migrate", "migrate_database", "register", "seed_database", "seed_demo"]

JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable JSON output.")]


def migrate_database(
    settings: Settings, *, plugins: Sequence[CarePlugin]
) -> tuple[str | None, tuple[str, ...]]:
    """Migrate the app database to the newest revisions of the core and ``plugins``.

    A revision the database records but none of ``plugins`` provides (an uninstalled
    module's) is left alone with its tables, and said on stderr, one line each.

    Args:
        settings: Where the database is.
        plugins: The loaded plugins (the registry's), whose migrations run.

    Returns:
        The revisions the database is at now, and the orphaned ones.
    """
    from careflow.db import current_revision, upgrade
    from careflow.db.migrate import orphan_message

    url = settings.resolved_database_url
    report = upgrade(url, plugins=plugins)
    for revision in report.orphaned:
        typer.echo(f"警告 warning: {orphan_message(revision)}", err=True)
    return current_revision(url), report.orphaned


def seed_database(
    settings: Settings, *, plugins: Sequence[CarePlugin], seed: int = 2026
) -> dict[str, Any]:
    """Migrate, then fill the registry with the demo population if it is empty.

    Args:
        settings: Where the database is.
        plugins: The loaded plugins (the registry's), whose migrations run.
        seed: Random seed of the demo population.

    Returns:
        What happened: whether it was skipped and the rows added per table (counts only).
    """
    from careflow.db import seed_demo as run_seed
    from careflow.db import session_scope
    from careflow.db.seed_accounts import seed_demo_accounts

    migrate_database(settings, plugins=plugins)
    with database(settings, plugins=plugins) as engine, session_scope(engine) as session:
        summary = run_seed(session, seed=seed)
        accounts = seed_demo_accounts(session)
    return {
        "seed": summary.seed,
        "skipped": summary.skipped,
        "reason": summary.reason,
        "counts": dict(summary.counts),
        "demo_accounts": accounts,
    }


@cli_errors
def migrate(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Migrate the app database to the newest revision · 数据库迁移.

    Revisions of uninstalled modules are kept with their tables and named on stderr; the
    ``--json`` output lists them under ``orphaned``.
    """
    st = state(ctx)
    settings = st.settings
    revision, orphaned = migrate_database(settings, plugins=st.registry.plugins)
    url = redacted_url(settings.resolved_database_url)
    if as_json:
        echo_json({"database": url, "revision": revision, "orphaned": list(orphaned)})
        return
    typer.echo(f"数据库已迁移 database migrated: {url} @ {revision}")


@cli_errors
def seed_demo(
    ctx: typer.Context,
    seed: Annotated[
        int, typer.Option(help="Random seed; the same seed gives the same rows.")
    ] = 2026,
    as_json: JsonOption = False,
) -> None:
    """Migrate, then seed the demo registry and demo accounts if empty · 演示数据."""
    st = state(ctx)
    result = seed_database(st.settings, plugins=st.registry.plugins, seed=seed)
    if as_json:
        echo_json(result)
        return
    from careflow.db.seed_accounts import DEMO_PASSWORD

    if result["skipped"]:
        typer.echo(f"未写入 skipped: {result['reason']}")
    else:
        echo_lines(
            [f"演示数据已写入 demo registry seeded (seed {result['seed']}):"]
            + [f"  {table}: {count}" for table, count in result["counts"].items()]
        )
    if result["demo_accounts"]:
        typer.echo(
            f"演示账号已创建 {result['demo_accounts']} demo accounts, password {DEMO_PASSWORD} "
            "(see `careflow staff list`)"
        )


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command("migrate")(migrate)
    app.command("seed-demo")(seed_demo)
