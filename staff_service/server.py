"""Serving the staff service with uvicorn inside the caller's event loop.

:func:`serve` runs any app until an ``asyncio.Event`` is set, without touching signal
handlers (the caller, e.g. ``careflow dev`` running a worker beside it, owns SIGINT and
SIGTERM). :func:`run_staff_service` builds the engine, the Temporal client and the app from
the settings and serves them: it is what ``careflow serve`` and the dev stack call.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Callable, Generator

import structlog
import uvicorn
from fastapi import FastAPI
from temporalio.client import Client

from careflow.errors import InputError
from careflow.registry import PluginRegistry
from careflow.settings import Settings

__all__ = ["bind", "run_staff_service", "serve"]

log = structlog.get_logger("careflow.staff_service")


class _EmbeddedServer(uvicorn.Server):
    """A uvicorn server that leaves signal handling to its caller."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (port 0: a free one).

    Raises:
        InputError: The address is in use or cannot be bound (names ``CAREFLOW_API_PORT``).
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        family = infos[0][0]
        sock = socket.create_server((host, port), family=family, reuse_port=False)
    except OSError as err:
        raise InputError(
            "CAREFLOW_API_PORT",
            f"无法监听 cannot listen on {host}:{port}: {err.strerror or err} "
            "(another staff service running? set CAREFLOW_API_PORT to a free port)",
        ) from err
    sock.setblocking(False)
    return sock


async def serve(
    app: FastAPI,
    *,
    host: str,
    port: int,
    stop: asyncio.Event,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Serve ``app`` on ``host:port`` until ``stop`` is set, then finish open requests.

    Args:
        app: The ASGI app.
        host: Address to bind (``127.0.0.1`` for the dev stack).
        port: Port to bind; 0 picks a free one (tests, benchmarks).
        stop: Set it to shut down gracefully.
        on_ready: Called with the base URL (``http://127.0.0.1:8000``) once it accepts.

    Raises:
        InputError: The address cannot be bound.
    """
    sock = bind(host, port)
    bound = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        log_config=None,
        access_log=False,
        server_header=False,
        lifespan="off",
        timeout_graceful_shutdown=10,
    )
    server = _EmbeddedServer(config)

    async def stop_when_asked() -> None:
        await stop.wait()
        server.should_exit = True

    watcher = asyncio.create_task(stop_when_asked())
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{bound}"
    try:
        serving = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started and not serving.done():
            await asyncio.sleep(0.01)
        if server.started:
            log.info("staff service listening", url=url)
            if on_ready is not None:
                on_ready(url)
        await serving
    finally:
        watcher.cancel()
        sock.close()


async def run_staff_service(
    settings: Settings,
    registry: PluginRegistry,
    *,
    stop: asyncio.Event,
    client: Client | None = None,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Build the staff service from ``settings`` and serve it until ``stop`` is set.

    Serves on ``settings.api_host``:``settings.api_port`` (``CAREFLOW_API_HOST``,
    ``CAREFLOW_API_PORT``). The app database must be migrated. Temporal is connected lazily:
    the service starts, and serves login and inbox, while Temporal is down.

    Args:
        settings: The careflow settings.
        registry: The loaded plugins.
        stop: Set it to shut down gracefully.
        client: A Temporal client to share (the dev stack's); else one made from the settings.
        on_ready: Called with the base URL once the service accepts requests.

    Raises:
        InputError: The address cannot be bound.
    """
    from careflow.db import make_engine
    from careflow.temporal import connect
    from staff_service.app import create_app

    async def factory() -> Client:
        return await connect(settings, lazy=True)

    engine = make_engine(settings.resolved_database_url)
    try:
        app = create_app(
            settings=settings,
            registry=registry,
            engine=engine,
            client=client,
            client_factory=factory,
        )
        await serve(
            app, host=settings.api_host, port=settings.api_port, stop=stop, on_ready=on_ready
        )
    finally:
        engine.dispose()
