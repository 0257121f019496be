"""What the ingress tests share: the broker, a seeded stack, publishing, waiting, counting."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiomqtt
import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from temporalio.client import Client
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from careflow.db.tables import Consent, IngressDeadLetter, Person
from careflow.registry import PluginRegistry
from careflow.settings import Settings
from ingress import IngressConfig, Metrics, run_ingress
from ingress.broker import broker_answers
from plugins.eldercare.health.tables import HealthReading

__all__ = [
    "BROKER",
    "HEALTH_DISTRICT",
    "Message",
    "Stack",
    "consenting_elders",
    "dead_letters",
    "end_processes",
    "new_root",
    "publish",
    "reading",
    "require_broker",
    "running_ingress",
    "stored_readings",
    "until",
]

BROKER = os.environ.get("CAREFLOW_TEST_MQTT_URL", "mqtt://127.0.0.1:1883")
HEALTH_DISTRICT = "wanbailin"
"""The demo district whose programme switches the health stations on."""


async def require_broker() -> None:
    """Skip, loudly, without a broker; under CI (``CI=true``) fail instead."""
    problem = await broker_answers(BROKER, timeout=2.0)
    if problem is None:
        return
    message = (
        f"NO MQTT BROKER: {problem}. The ingress tests need Mosquitto on 127.0.0.1:1883 "
        "(or CAREFLOW_TEST_MQTT_URL); start it with `mosquitto -d`"
    )
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def new_root() -> str:
    """A topic root of the test's own: tests never see each other's (or a dev stack's) traffic."""
    return f"cft{uuid.uuid4().hex[:10]}"


@dataclass(frozen=True)
class Stack:
    """A dev server, a seeded database, a worker of every built-in plugin, an ingress token."""

    env: WorkflowEnvironment
    engine: Engine
    database_url: str
    registry: PluginRegistry
    task_queue: str
    token: str
    data_dir: Path

    @property
    def temporal_address(self) -> str:
        """Where the dev server listens."""
        return self.env.client.service_client.config.target_host

    def settings(self, **changes: Any) -> Settings:
        """Settings of an ingress (or CLI) on this stack."""
        values: dict[str, Any] = {
            "data_dir": self.data_dir,
            "database_url": self.database_url,
            "task_queue": self.task_queue,
            "temporal_address": self.temporal_address,
            "mqtt_url": BROKER,
            "ingress_token": self.token,
        }
        values.update(changes)
        return Settings(**values)

    def environ(self, *, root: str, client_id: str, **more: str) -> dict[str, str]:
        """The environment of a ``careflow`` subprocess on this stack."""
        return {
            **os.environ,
            "CAREFLOW_DATA_DIR": str(self.data_dir),
            "CAREFLOW_DATABASE_URL": self.database_url,
            "CAREFLOW_TASK_QUEUE": self.task_queue,
            "CAREFLOW_TEMPORAL_ADDRESS": self.temporal_address,
            "CAREFLOW_MQTT_URL": BROKER,
            "CAREFLOW_MQTT_TOPIC_ROOT": root,
            "CAREFLOW_MQTT_CLIENT_ID": client_id,
            "CAREFLOW_INGRESS_TOKEN": self.token,
            "CAREFLOW_LOG_FORMAT": "json",
            **more,
        }


def config(root: str, client_id: str | None = None, **changes: Any) -> IngressConfig:
    """An ingress of the test's topic root, with a short-lived session."""
    return IngressConfig(
        url=BROKER,
        root=root,
        client_id=client_id or f"cft-{uuid.uuid4().hex[:8]}",
        session_expiry=300,
        metrics_interval=5.0,
        **changes,
    )


@asynccontextmanager
async def running_ingress(
    stack: Stack, root: str, *, client_id: str | None = None, **settings: Any
) -> AsyncIterator[Metrics]:
    """An ingress in this process for the block; its counters are yielded."""
    stop, ready = asyncio.Event(), asyncio.Event()
    metrics = Metrics()
    task = asyncio.create_task(
        run_ingress(
            stack.settings(**settings),
            stack.registry,
            stop=stop,
            client=stack.env.client,
            engine=stack.engine,
            config=config(root, client_id),
            metrics=metrics,
            on_ready=lambda _line: ready.set(),
        )
    )
    done, _ = await asyncio.wait(
        {task, asyncio.create_task(ready.wait())}, timeout=30, return_when="FIRST_COMPLETED"
    )
    if task in done:
        task.result()  # it failed: raise why
    assert ready.is_set(), "the ingress did not subscribe within 30 s"
    try:
        yield metrics
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=60)


Message = tuple[str, bytes | dict[str, Any]]
"""(topic under the root, payload: bytes as they are, or a dict sent as JSON)."""


async def publish(
    root: str,
    messages: Iterable[Message],
    *,
    rate: float | None = None,
    settled: Callable[[], int] | None = None,
    window: int = 500,
) -> int:
    """Publish with QoS 1 (each stamped ``sent_at``), at most ``rate`` per second; returns how
    many.

    With ``settled`` (how many the ingress settled so far), stay at most ``window`` messages
    ahead of it, as a fleet of devices does that each wait for their last answer: Mosquitto
    keeps only 1,000 messages per session by default (``max_queued_messages``) and drops the
    rest when the ingress falls behind or is down.
    """
    count = 0
    started = time.monotonic()
    async with aiomqtt.Client(
        BROKER.removeprefix("mqtt://").split(":")[0],
        int(BROKER.rsplit(":", 1)[1]),
        protocol=aiomqtt.ProtocolVersion.V5,
        identifier=f"cft-pub-{uuid.uuid4().hex[:8]}",
    ) as client:
        for topic, payload in messages:
            while settled is not None and count - settled() >= window:
                await asyncio.sleep(0.2)
            props = Properties(PacketTypes.PUBLISH)
            props.UserProperty = ("sent_at", f"{time.time():.6f}")
            body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
            await client.publish(f"{root}/{topic}", body, qos=1, properties=props)
            count += 1
            if rate is not None:
                ahead = count / rate - (time.monotonic() - started)
                if ahead > 0:
                    await asyncio.sleep(ahead)
    return count


async def until(check: Callable[[], Any], *, timeout: float, what: str, every: float = 0.2) -> Any:
    """Poll ``check`` (sync or async) until it returns something truthy."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if isinstance(last, Awaitable):
            last = await last
        if last:
            return last
        await asyncio.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what} (last: {last!r})")


def consenting_elders(engine: Engine, count: int, *, district: str = HEALTH_DISTRICT) -> list[str]:
    """Elders of ``district`` with a live consent to health monitoring, by id."""
    with Session(engine) as session:
        rows = session.exec(
            select(Person.id)
            .join(Consent, col(Consent.subject_id) == col(Person.id))
            .where(Person.kind == "elder", Consent.purpose == "health_monitoring")
            .where(col(Consent.withdrawn_at).is_(None))
            .where(col(Person.community_code).startswith(f"{district}."))
            .order_by(col(Person.id))
            .limit(count)
        ).all()
    assert len(rows) == count, f"only {len(rows)} consenting elders in {district}"
    return list(rows)


_T0 = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)


def reading(
    elder: str, n: int, *, device: str = "HS-T1", message_id: str | None = "", **values: Any
) -> dict[str, Any]:
    """A plausible blood-pressure reading, the ``n``-th of its device (measured a minute apart).

    ``message_id=""`` gives one from the device and ``n``; None leaves it out.
    """
    data: dict[str, Any] = {
        "case_ref": elder,
        "device_id": device,
        "measured_at": (_T0 + timedelta(minutes=n)).isoformat(),
        "systolic": 118 + n % 17,
        "diastolic": 72 + n % 11,
        "heart_rate": 64 + n % 13,
    }
    if message_id is not None:
        data["message_id"] = message_id or f"{device}-{n:06d}"
    data.update(values)
    return data


def stored_readings(engine: Engine, *, devices: Iterable[str]) -> dict[tuple[str, str], int]:
    """How often each (device, measured_at) was stored, for the given devices."""
    with Session(engine) as session:
        rows = session.exec(
            select(HealthReading.device_id, HealthReading.measured_at, func.count())
            .where(col(HealthReading.device_id).in_(list(devices)))
            .group_by(col(HealthReading.device_id), col(HealthReading.measured_at))
        ).all()
    return {(d, m.isoformat()): c for d, m, c in rows}


def dead_letters(engine: Engine, *, root: str) -> list[IngressDeadLetter]:
    """The dead letters of one topic root, oldest first."""
    with Session(engine) as session:
        return list(
            session.exec(
                select(IngressDeadLetter)
                .where(col(IngressDeadLetter.topic).startswith(f"{root}/"))
                .order_by(col(IngressDeadLetter.id))
            ).all()
        )


async def end_processes(client: Client, *, task_queue: str) -> None:
    """Terminate the processes still running on a module's task queue.

    Every module seeds the same demo registry, so its processes have the ids the next
    module's events go to: left running (their worker gone), they would take the next
    module's signals and never act on them.
    """
    query = f'TaskQueue = "{task_queue}" AND ExecutionStatus = "Running"'
    async for execution in client.list_workflows(query):
        handle = client.get_workflow_handle(execution.id, run_id=execution.run_id)
        with contextlib.suppress(RPCError):
            await handle.terminate(reason="test module ended")
