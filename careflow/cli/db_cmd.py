"""``careflow migrate`` and ``careflow seed-demo``: the app database."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from careflow.cli.app import cli_errors, database, echo_json, echo_lines, redacted_url, state
from careflow.settings import Settings

__all__ = ["migrate", "migrate_database", "register", "seed_database", "seed_demo"]

JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable JSON output.")]


def migrate_database(settings: Settings) -> str | None:
    """Migrate the app database to the newest revision; return that revision."""
    from careflow.db import current_revision, upgrade

    url = settings.resolved_database_url
    upgrade(url)
    return current_revision(url)


def seed_database(settings: Settings, *, seed: int = 2026) -> dict[str, Any]:
    """Migrate, then fill the registry with the demo population if it is empty.

    Returns:
        What happened: whether it was skipped and the rows added per table (counts only).
    """
    from careflow.db import seed_demo as run_seed
    from careflow.db import session_scope
    from careflow.db.seed_accounts import seed_demo_accounts

    migrate_database(settings)
    with database(settings) as engine, session_scope(engine) as session:
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
    """Migrate the app database to the newest revision · 数据库迁移."""
    settings = state(ctx).settings
    revision = migrate_database(settings)
    url = redacted_url(settings.resolved_database_url)
    if as_json:
        echo_json({"database": url, "revision": revision})
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
    result = seed_database(state(ctx).settings, seed=seed)
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
