"""Temporal stopped in the middle of a stream and started again: the ingress holds every
message (acknowledging none it did not deliver), says so once, and drains when Temporal is
back; every reading is stored exactly once."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlmodel import Session, col, select

from careflow.db.tables import IngressMessage
from careflow.search_attributes import SEARCH_ATTRIBUTE_TYPES
from careflow.settings import Settings
from careflow.temporal import connect
from cli.devserver import DevServer, DevServerConfig, find_temporal_binary
from ingress import IngressConfig, Metrics, run_ingress
from tests.ingress.support import (
    BROKER,
    HEALTH_DISTRICT,
    Stack,
    consenting_elders,
    new_root,
    publish,
    reading,
    stored_readings,
    until,
)
from worker.testing import running_worker

READINGS = 300


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def server_config(tmp_path: Path) -> AsyncIterator[DevServerConfig]:
    """A dev server of the test's own whose state survives a restart (a state file)."""
    yield DevServerConfig(
        binary=find_temporal_binary(),
        host="127.0.0.1",
        port=_free_port(),
        ui_port=_free_port(),
        namespace="default",
        db_file=tmp_path / "temporal.db",
        log_file=tmp_path / "temporal.log",
        search_attributes=dict(SEARCH_ATTRIBUTE_TYPES),
    )


def _delivered(stack: Stack, root: str) -> int:
    with Session(stack.engine) as session:
        return session.exec(
            select(func.count())
            .select_from(IngressMessage)
            .where(col(IngressMessage.topic).startswith(f"{root}/"))
            .where(IngressMessage.status == "delivered")
        ).one()


async def test_temporal_down_mid_stream_holds_then_drains(
    stack: Stack, server_config: DevServerConfig
) -> None:
    server = DevServer(server_config)
    server.start()
    try:
        assert await server.wait_ready()
        address = f"{server_config.host}:{server_config.port}"
        settings: Settings = stack.settings(temporal_address=address)
        client = await connect(settings)
        root = new_root()
        elders = consenting_elders(stack.engine, 20)
        topic = f"{HEALTH_DISTRICT}/eldercare.reading"
        stream = [(topic, reading(elders[n % 20], n, device="HS-DOWN")) for n in range(READINGS)]
        stop, metrics = asyncio.Event(), Metrics()
        async with running_worker(client, stack.registry, engine=stack.engine) as worker:
            ingress = asyncio.create_task(
                run_ingress(
                    stack.settings(temporal_address=address, task_queue=worker.task_queue),
                    stack.registry,
                    stop=stop,
                    engine=stack.engine,  # its own Temporal client, made lazily
                    metrics=metrics,
                    config=IngressConfig(
                        url=BROKER, root=root, client_id=f"{root}-a", session_expiry=300
                    ),
                )
            )
            await asyncio.sleep(1.0)  # subscribed
            publishing = asyncio.create_task(
                publish(root, stream, rate=100, settled=lambda: _delivered(stack, root))
            )
            await until(lambda: _delivered(stack, root) >= 60, timeout=60, what="60 delivered")
            await asyncio.to_thread(server.stop)  # Temporal goes away mid-stream
            held = _delivered(stack, root)
            # Past the client's own retries (10 s) the ingress pauses: one state change.
            await until(lambda: metrics.paused, timeout=60, what="the ingress to pause")
            assert metrics.paused == "temporal_unavailable" and metrics.pauses == 1
            await asyncio.sleep(3)
            # Nothing is delivered (or acknowledged) while it is down; messages wait in flight.
            assert _delivered(stack, root) - held <= 64
            assert metrics.in_flight > 0
            server = DevServer(server_config)
            server.start()
            assert await server.wait_ready()
            assert await publishing == READINGS
            await until(
                lambda: len(stored_readings(stack.engine, devices=["HS-DOWN"])) == READINGS,
                timeout=180,
                what=f"{READINGS} stored readings after the restart",
            )
            stop.set()
            await asyncio.wait_for(ingress, timeout=60)
        await asyncio.sleep(1)
        stored = stored_readings(stack.engine, devices=["HS-DOWN"])
        assert len(stored) == READINGS and set(stored.values()) == {1}
        assert _delivered(stack, root) == READINGS and metrics.dead_letters == 0
        assert metrics.paused is None and metrics.pauses == 1
    finally:
        await asyncio.to_thread(server.stop)
