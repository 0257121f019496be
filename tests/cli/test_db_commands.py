"""``careflow migrate`` and ``careflow seed-demo`` on a database under ``tmp_path``."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from cli import app


def test_migrate_is_idempotent(runner: CliRunner, cli_env: Path) -> None:
    first = runner.invoke(app, ["migrate", "--json"])
    second = runner.invoke(app, ["migrate"])
    assert first.exit_code == 0, first.stderr
    assert second.exit_code == 0, second.stderr
    info = json.loads(first.stdout)
    assert info["revision"]
    assert (cli_env / "careflow.db").exists()
    assert info["revision"] in second.stdout


def test_seed_demo_seeds_once(runner: CliRunner) -> None:
    first = runner.invoke(app, ["seed-demo", "--json"])
    assert first.exit_code == 0, first.stderr
    seeded = json.loads(first.stdout)
    assert seeded["skipped"] is False
    assert seeded["counts"]
    assert all(count > 0 for count in seeded["counts"].values())

    again = runner.invoke(app, ["seed-demo"])
    assert again.exit_code == 0, again.stderr
    assert "skipped" in again.stdout


def test_seed_demo_prints_counts_only(runner: CliRunner) -> None:
    result = runner.invoke(app, ["seed-demo"])
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[0].startswith("演示数据已写入 demo registry seeded")
    # The demo accounts and their documented password (demo data only).
    assert lines[-1].startswith("演示账号已创建") and "careflow-demo" in lines[-1]
    # Every other line is "table: count": no names, phones or addresses reach the terminal.
    for line in lines[1:-1]:
        table, _, count = line.strip().partition(": ")
        assert table.isidentifier() and count.isdigit(), line
