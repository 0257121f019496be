"""Serving with uvicorn in the caller's event loop: a real socket, a graceful stop, a clear
error when the port is taken, and ``run_staff_service`` from settings alone."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from careflow.db.migrate import upgrade
from careflow.db.seed import seed_demo
from careflow.db.seed_accounts import DEMO_PASSWORD, seed_demo_accounts
from careflow.errors import InputError
from careflow.registry import PluginRegistry
from careflow.settings import Settings
from staff_service.app import create_app
from staff_service.server import bind, run_staff_service, serve
from tests.staff_service.conftest import GRID_JIUSI


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def _until_ready(ready: asyncio.Future[str], task: asyncio.Task[None]) -> str:
    done, _ = await asyncio.wait({ready, task}, timeout=15, return_when=asyncio.FIRST_COMPLETED)
    assert ready in done, task.exception() if task.done() else "not ready in 15 s"
    return ready.result()


async def test_serve_answers_on_a_real_socket_and_stops_when_asked(
    staff_engine: Engine, full_registry: PluginRegistry
) -> None:
    app = create_app(
        settings=Settings(), registry=full_registry, engine=staff_engine, console=False
    )
    stop = asyncio.Event()
    ready: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(
        serve(app, host="127.0.0.1", port=0, stop=stop, on_ready=ready.set_result)
    )
    url = await _until_ready(ready, task)
    async with httpx.AsyncClient(base_url=url) as http:
        answer = await http.get("/api/v1/health")
    assert answer.status_code == 200 and answer.headers["x-request-id"]
    assert "server" not in answer.headers
    stop.set()
    await asyncio.wait_for(task, timeout=15)


def test_a_taken_port_is_a_clear_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(InputError) as err:
            bind("127.0.0.1", port)
    assert err.value.field == "CAREFLOW_API_PORT" and str(port) in err.value.problem


async def test_run_staff_service_serves_login_while_temporal_is_down(
    tmp_path: Path, full_registry: PluginRegistry
) -> None:
    url = f"sqlite:///{tmp_path / 'careflow.db'}"
    upgrade(url)
    from careflow.db import make_engine

    engine = make_engine(url)
    with Session(engine) as session:
        seed_demo(session)
        seed_demo_accounts(session)
        session.commit()
    engine.dispose()
    settings = Settings(
        database_url=url,
        api_port=_free_port(),
        temporal_address=f"127.0.0.1:{_free_port()}",
    )
    stop = asyncio.Event()
    ready: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(
        run_staff_service(settings, full_registry, stop=stop, on_ready=ready.set_result)
    )
    base = await _until_ready(ready, task)
    assert base == f"http://127.0.0.1:{settings.api_port}"
    async with httpx.AsyncClient(base_url=base) as http:
        login = await http.post(
            "/api/v1/session", json={"username": GRID_JIUSI, "password": DEMO_PASSWORD}
        )
        assert login.status_code == 200
        http.headers["X-CSRF-Token"] = login.json()["csrf_token"]
        inbox = await http.get("/api/v1/tasks")
        assert inbox.status_code == 200
        view = await http.get("/api/v1/processes/by-id/delivery-wanbailin-C1")
        assert view.status_code == 503 and view.json()["reason"] == "temporal_unavailable"
    stop.set()
    await asyncio.wait_for(task, timeout=15)
