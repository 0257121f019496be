"""Fixtures of the CLI tests: an isolated environment and a runner.

Every test gets its own ``CAREFLOW_DATA_DIR`` and SQLite database under ``tmp_path`` and a
Temporal address where nothing listens, so no test touches the repository's ``.careflow/`` or
a running stack, and a command that wrongly reaches for Temporal fails instead of starting
anything. Commands act as ``S0001`` (see ``tests/conftest.py``) unless a test names another
``--actor``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.cli.helpers import free_port


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker of tests that start a real Temporal dev server."""
    config.addinivalue_line(
        "markers", "devserver: starts `careflow dev` with a real Temporal dev server (< 30 s)"
    )


@pytest.fixture(autouse=True)
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point every ``CAREFLOW_*`` setting at ``tmp_path`` (and an unused Temporal port)."""
    data_dir = tmp_path / "data"
    monkeypatch.setenv("CAREFLOW_DATA_DIR", str(data_dir))
    monkeypatch.setenv(
        "CAREFLOW_DATABASE_URL", f"sqlite:///{(data_dir / 'careflow.db').as_posix()}"
    )
    monkeypatch.setenv("CAREFLOW_TEMPORAL_ADDRESS", f"127.0.0.1:{free_port()}")
    monkeypatch.setenv("CAREFLOW_UI_PORT", str(free_port()))
    monkeypatch.setenv("CAREFLOW_API_PORT", str(free_port()))
    for name in ("CAREFLOW_PLUGIN_CONFIG", "CAREFLOW_TEMPORAL_NAMESPACE", "CAREFLOW_TASK_QUEUE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return data_dir


@pytest.fixture
def runner() -> CliRunner:
    """A Typer test runner (stdout and stderr kept apart)."""
    return CliRunner()
