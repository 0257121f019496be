"""Support for the outage tests: a Temporal dev server to stop and restart, a TCP proxy to cut.

:class:`DevServerProcess` runs ``temporal server start-dev`` on a persistent state file and a
fixed port, so a test can stop it (SIGTERM or SIGKILL) under running processes and start it
again where it was; the worker under test is never told.

:class:`TcpProxy` stands between a worker and PostgreSQL. "Down" closes its listener and cuts
every forwarded connection, so the worker's next connect is refused at once (what a stopped
database looks like); "up" listens again on the same port.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import IO, TypeVar

from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
from temporalio.client import Client

from careflow.search_attributes import SEARCH_ATTRIBUTE_TYPES
from worker.testing import binary

__all__ = [
    "HUNG_AFTER",
    "DevServerProcess",
    "TcpProxy",
    "free_port",
    "wait_for",
    "wait_idle",
    "wait_until",
]

T = TypeVar("T")

HUNG_AFTER = 60.0
"""Seconds after which a wait of the outage tests counts as hung. Only a bound: what is waited
for is an exact state, and a loaded two-core CI machine may take its time to reach it."""

_POLL = 0.1
"""Seconds between two looks at a condition a test waits for."""


def free_port() -> int:
    """A TCP port nothing listens on at the moment of asking (the kernel's choice)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def wait_until(what: str, probe: Callable[[], T], expected: T, *, timeout: float) -> None:
    """Wait until ``probe()`` equals ``expected``; fail naming ``what`` and the last value seen
    after ``timeout`` seconds.

    The timeout only bounds a hung test: the value waited for is itself exact.
    """
    deadline = time.monotonic() + timeout
    while (seen := probe()) != expected:
        if time.monotonic() > deadline:
            raise AssertionError(
                f"timed out after {timeout:g} s waiting for {what}: "
                f"expected {expected!r}, last saw {seen!r}"
            )
        await asyncio.sleep(_POLL)


async def wait_for(
    what: str, probe: Callable[[], Awaitable[T]], expected: T, *, timeout: float
) -> None:
    """:func:`wait_until` for a probe that asks over the network (e.g. Temporal)."""
    deadline = time.monotonic() + timeout
    while (seen := await probe()) != expected:
        if time.monotonic() > deadline:
            raise AssertionError(
                f"timed out after {timeout:g} s waiting for {what}: "
                f"expected {expected!r}, last saw {seen!r}"
            )
        await asyncio.sleep(_POLL)


async def wait_idle(client: Client, workflow_ids: list[str], *, timeout: float) -> None:
    """Wait until every workflow waits on nothing but timers, tasks and signals: no activity
    and no workflow task pending, so nothing of theirs is in flight on a worker.

    Raises:
        AssertionError: Some are still busy after ``timeout`` seconds (how many, named).
    """

    async def busy() -> list[str]:
        described = await asyncio.gather(
            *(client.get_workflow_handle(wid).describe() for wid in workflow_ids)
        )
        return [
            d.id
            for d in described
            if d.raw_description.pending_activities
            or d.raw_description.HasField("pending_workflow_task")
        ]

    deadline = time.monotonic() + timeout
    while found := await busy():
        if time.monotonic() > deadline:
            raise AssertionError(f"{len(found)} processes still busy after {timeout:g} s")
        await asyncio.sleep(_POLL)


class DevServerProcess:
    """``temporal server start-dev`` on ``port`` with its state in ``db_file``, restartable.

    Args:
        db_file: The SQLite state file; kept across restarts, so open processes survive.
        port: The frontend's gRPC port, the same at every start (the worker's client keeps
            its address).
        log_file: Where the server's output goes (appended at every start).
    """

    def __init__(self, *, db_file: Path, port: int, log_file: Path) -> None:
        """Prepare (but do not start) the server."""
        self.db_file = db_file
        self.port = port
        self.log_file = log_file
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def address(self) -> str:
        """``host:port`` of the frontend."""
        return f"127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        """The command line: headless, quiet, careflow's search attributes on every start."""
        cmd = [
            binary("temporal"),
            "server",
            "start-dev",
            "--ip",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--headless",
            "--db-filename",
            str(self.db_file),
            "--log-level",
            "error",
        ]
        for name, kind in SEARCH_ATTRIBUTE_TYPES.items():
            cmd += ["--search-attribute", f"{name}={kind}"]
        return cmd

    async def start(self, *, timeout: float = 30.0) -> None:
        """Start the server and wait until it serves the default namespace.

        Raises:
            AssertionError: It exited or did not answer within ``timeout`` seconds.
        """
        assert self._proc is None, "the dev server is already running"
        self._log = self.log_file.open("ab")
        self._proc = subprocess.Popen(
            self.command(),
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while True:
            code = self._proc.poll()
            if code is not None:
                raise AssertionError(f"dev server exited with {code}; see {self.log_file}")
            with contextlib.suppress(Exception):  # refused or not serving yet
                client = await Client.connect(self.address)
                await client.workflow_service.describe_namespace(
                    DescribeNamespaceRequest(namespace="default")
                )
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"dev server not ready on {self.address} in {timeout:g} s")
            await asyncio.sleep(0.2)

    def stop(self, sig: signal.Signals = signal.SIGTERM, *, timeout: float = 30.0) -> int:
        """Stop the server with ``sig`` (SIGKILL after ``timeout`` seconds) and wait for it.

        Returns:
            Its exit status (negative: the signal that ended it).
        """
        proc = self._proc
        assert proc is not None, "the dev server is not running"
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        self._proc = None
        if self._log is not None:
            self._log.close()
            self._log = None
        return proc.returncode

    def close(self) -> None:
        """Kill the server if it still runs (test teardown)."""
        if self._proc is not None:
            self.stop(signal.SIGKILL)


class TcpProxy:
    """Forward ``127.0.0.1:<port>`` to ``target``; :meth:`down` and :meth:`up` cut and restore.

    Threads, not the test's event loop: the worker's activities connect from threads and
    must be served even while the loop is busy.

    Args:
        target: (host, port) forwarded to, e.g. PostgreSQL's ``("127.0.0.1", 5432)``.
    """

    def __init__(self, target: tuple[str, int]) -> None:
        """Prepare the proxy; :meth:`up` starts listening."""
        self.target = target
        self.port = free_port()
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._acceptor: threading.Thread | None = None
        self._connections: set[socket.socket] = set()
        self.accepted = 0
        """How many connections it forwarded, over all its up periods."""

    @property
    def is_up(self) -> bool:
        """Whether it listens."""
        return self._listener is not None

    def up(self) -> None:
        """Listen on the proxy's port again (the same one every time)."""
        assert self._listener is None, "the proxy is already up"
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        listener.settimeout(0.1)  # so the accept loop notices down() promptly
        self._listener = listener
        self._acceptor = threading.Thread(
            target=self._accept, args=(listener,), name="proxy-accept", daemon=True
        )
        self._acceptor.start()

    def down(self) -> None:
        """Stop listening and cut every forwarded connection: new connects are refused."""
        listener, self._listener = self._listener, None
        assert listener is not None, "the proxy is already down"
        listener.close()
        if self._acceptor is not None:
            self._acceptor.join()
            self._acceptor = None
        with self._lock:
            cut, self._connections = self._connections, set()
        for sock in cut:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def close(self) -> None:
        """Take it down for good (test teardown)."""
        if self._listener is not None:
            self.down()

    def _accept(self, listener: socket.socket) -> None:
        while self._listener is listener:
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return  # closed by down()
            try:
                server = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self._lock:
                if self._listener is not listener:  # went down meanwhile
                    client.close()
                    server.close()
                    return
                self._connections |= {client, server}
                self.accepted += 1
            pair = _Pair(client, server, forget=self._forget)
            for source, sink in ((client, server), (server, client)):
                threading.Thread(
                    target=pair.pump, args=(source, sink), name="proxy-pump", daemon=True
                ).start()

    def _forget(self, *socks: socket.socket) -> None:
        with self._lock:
            self._connections.difference_update(socks)


class _Pair:
    """One forwarded connection: two pumps; either ending ends both, the last one closes."""

    def __init__(
        self,
        client: socket.socket,
        server: socket.socket,
        *,
        forget: Callable[[socket.socket, socket.socket], None],
    ) -> None:
        self._socks = (client, server)
        self._forget = forget
        self._lock = threading.Lock()
        self._running = 2

    def pump(self, source: socket.socket, sink: socket.socket) -> None:
        """Copy ``source`` to ``sink`` until either side ends or is cut."""
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass  # cut by down(), or the peer went away
        for sock in self._socks:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        with self._lock:
            self._running -= 1
            last = self._running == 0
        if last:
            self._forget(*self._socks)
            for sock in self._socks:
                sock.close()
