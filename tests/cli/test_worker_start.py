"""``careflow worker`` without Temporal or the database: exit 1 and one plain line, at once.

Subprocesses: ``careflow worker`` configures logging for the whole process, and what counts
is exactly what an operator sees on stderr.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.cli.helpers import free_port
from tests.conftest import TEST_CODEC_KEYS

PASSWORD = "s3cret-Pw"


@pytest.fixture
def worker_env(cli_env: Path) -> dict[str, str]:
    """A reachable SQLite database and a Temporal port where nothing listens."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAREFLOW_")}
    return env | {
        "CAREFLOW_DATA_DIR": str(cli_env),
        "CAREFLOW_DATABASE_URL": f"sqlite:///{(cli_env / 'careflow.db').as_posix()}",
        "CAREFLOW_TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}",
        "CAREFLOW_UI_PORT": str(free_port()),
        "CAREFLOW_API_PORT": str(free_port()),
        "CAREFLOW_LOG_FORMAT": "json",
        # With keys: without any, the worker refuses before it tries Temporal.
        "CAREFLOW_CODEC_KEYS": TEST_CODEC_KEYS,
    }


def _run_worker(env: dict[str, str]) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "cli", "worker"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return done, time.monotonic() - started


def _one_line(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 1, done.stderr
    assert done.stdout == ""
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def test_unreachable_temporal_is_one_line_and_exit_1(
    worker_env: dict[str, str], cli_env: Path
) -> None:
    address = worker_env["CAREFLOW_TEMPORAL_ADDRESS"]

    done, elapsed = _run_worker(worker_env)

    line = _one_line(done)
    assert f"无法连接 Temporal cannot reach Temporal at {address}: " in line
    assert "Connection refused" in line
    assert elapsed < 30
    # Checked before migrating: the database is left as it was (no migration log lines).
    assert "alembic" not in done.stderr


def test_unreachable_database_is_one_line_without_the_password(
    worker_env: dict[str, str],
) -> None:
    port = free_port()
    url = f"postgresql+psycopg://postgres:{PASSWORD}@127.0.0.1:{port}/careflow"
    # Temporal is unreachable too: the database is checked first, and named alone.
    done, elapsed = _run_worker(worker_env | {"CAREFLOW_DATABASE_URL": url})

    line = _one_line(done)
    assert (
        f"无法连接数据库 cannot reach the database at "
        f"postgresql+psycopg://postgres:***@127.0.0.1:{port}/careflow: "
    ) in line
    assert "Connection refused" in line
    assert "Temporal" not in line
    assert PASSWORD not in done.stderr
    assert elapsed < 30
