"""The ingress: takes device and partner events from the broker and delivers each once.

``careflow ingress`` runs :func:`run_ingress` alone; ``careflow dev`` runs it beside the worker
when a broker answers. Several instances share the subscription (``$share/careflow/…``), so
the broker hands each message to one of them; each needs its own client id.

Per message (see :mod:`ingress.pipeline` and :mod:`ingress.store`): read it, take it in its
lane (the messages of one case are handled in order), settle it (delivered or dead letter),
acknowledge it. At most ``max_in_flight`` messages are taken at once; the broker sends no
more (MQTT 5 receive maximum). While Temporal or the database is down nothing is
acknowledged, and the broker keeps the rest. A lost broker connection is retried with
backoff; messages taken on the old connection finish but are not acknowledged on the new one
(the broker redelivers them and they are recognised as done).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any

import aiomqtt
import structlog
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from temporalio.client import Client

from careflow.db.engine import make_engine
from careflow.registry import PluginRegistry
from careflow.settings import Settings
from ingress.broker import broker_address, mqtt_client
from ingress.identity import IngressIdentity, ingress_token
from ingress.messages import Incoming, read_message
from ingress.metrics import METRICS_INTERVAL, Metrics
from ingress.pipeline import Pipeline
from ingress.store import purge_settled
from ingress.topics import shared_subscription

__all__ = ["IngressConfig", "default_client_id", "run_ingress"]

log = structlog.get_logger("careflow.ingress")

PURGE_EVERY = 3600.0
STOP_GRACE = 10.0
"""Seconds messages in flight get to settle at shutdown; the rest are redelivered later."""


def default_client_id() -> str:
    """``careflow-ingress-<host name>``: stable across restarts of this machine's instance."""
    host = re.sub(r"[^A-Za-z0-9_.-]", "-", socket.gethostname()) or "host"
    return f"careflow-ingress-{host}"[:64]


@dataclass(frozen=True, kw_only=True)
class IngressConfig:
    """How one ingress instance connects and how much it takes at once."""

    url: str
    root: str
    client_id: str
    max_in_flight: int = 64
    session_expiry: int = 7 * 24 * 3600
    """Seconds the broker keeps this instance's session (and its messages) while it is away."""
    metrics_interval: float = METRICS_INTERVAL
    keepalive: int = 30
    reconnect_max: float = 30.0

    @classmethod
    def from_settings(cls, settings: Settings, **changes: Any) -> IngressConfig:
        """The settings' broker, topic root and client id, with ``changes``."""
        config = cls(
            url=settings.mqtt_url,
            root=settings.mqtt_topic_root,
            client_id=settings.mqtt_client_id or default_client_id(),
        )
        return replace(config, **changes)


def _published(message: aiomqtt.Message) -> float | None:
    """The publisher's ``sent_at`` user property (seconds since the epoch), if it set one."""
    props = message.properties
    for key, value in getattr(props, "UserProperty", None) or ():
        if key == "sent_at":
            with contextlib.suppress(ValueError):
                return float(value)
    return None


@dataclass(slots=True)
class _Lane:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    users: int = 0


@dataclass(slots=True)
class _Consumer:
    """Takes the messages of one broker connection."""

    config: IngressConfig
    pipeline: Pipeline
    metrics: Metrics
    lanes: dict[str, _Lane] = field(default_factory=dict)
    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    generation: int = 0

    async def one(self, mqtt: aiomqtt.Client, message: aiomqtt.Message, generation: int) -> None:
        key = id(message)
        self.metrics.took(key)
        incoming = read_message(self.config.root, str(message.topic), bytes(message.payload))
        lane = self.lanes.setdefault(incoming.lane, _Lane())
        lane.users += 1
        try:
            async with lane.lock:
                settled = await self._settle(incoming, message)
            if settled and generation == self.generation and message.qos > 0:
                mqtt._client.ack(message.mid, message.qos)
        finally:
            lane.users -= 1
            if lane.users == 0:
                self.lanes.pop(incoming.lane, None)
            self.metrics.settled(key)

    async def _settle(self, incoming: Incoming, message: aiomqtt.Message) -> bool:
        try:
            await self.pipeline.handle(incoming, published=_published(message) or time.time())
        except asyncio.CancelledError:
            raise
        except Exception:
            # A bug, not the message's fault, and never the end of the ingress: the message is
            # left unacknowledged (redelivered after a reconnect), the error logged without it.
            log.exception("ingress.message_failed", event_id=incoming.event_id)
            return False
        return True

    async def consume(self, mqtt: aiomqtt.Client, stop: asyncio.Event) -> None:
        """Take messages until ``stop`` or a lost connection (then raise ``MqttError``)."""
        self.generation += 1
        generation = self.generation
        slots = asyncio.Semaphore(self.config.max_in_flight)
        messages = aiter(mqtt.messages)
        stopping = asyncio.create_task(stop.wait())
        try:
            while True:
                await slots.acquire()
                arriving: asyncio.Task[aiomqtt.Message] = asyncio.create_task(_next(messages))
                done, _ = await asyncio.wait(
                    {arriving, stopping}, return_when=asyncio.FIRST_COMPLETED
                )
                if arriving not in done:
                    arriving.cancel()
                    slots.release()
                    return
                message = arriving.result()  # MqttError: the connection is gone
                task = asyncio.create_task(self.one(mqtt, message, generation))
                self.tasks.add(task)
                task.add_done_callback(self.tasks.discard)
                task.add_done_callback(lambda _t: slots.release())
        finally:
            stopping.cancel()

    async def drain(self, timeout: float) -> None:
        """Let the messages in flight settle for up to ``timeout`` seconds, then cancel them."""
        if not self.tasks:
            return
        _, pending = await asyncio.wait(set(self.tasks), timeout=timeout)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)


async def _next(messages: AsyncIterator[aiomqtt.Message]) -> aiomqtt.Message:
    return await anext(messages)


async def _sleep_or_stop(seconds: float, stop: asyncio.Event) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


async def _purge(engine: Engine, stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            purged = await asyncio.to_thread(purge_settled, engine)
        except SQLAlchemyError:
            purged = 0
        if purged:
            log.info("ingress.purged", rows=purged)
        await _sleep_or_stop(PURGE_EVERY, stop)


def _client_source(settings: Settings, client: Client | None) -> Callable[[], Awaitable[Client]]:
    made: list[Client] = [client] if client is not None else []

    async def source() -> Client:
        if not made:
            from careflow.temporal import connect

            # Lazy: connects at the first call, and again until one succeeds.
            made.append(await connect(settings, lazy=True))
        return made[0]

    return source


async def run_ingress(
    settings: Settings,
    registry: PluginRegistry,
    *,
    stop: asyncio.Event,
    client: Client | None = None,
    engine: Engine | None = None,
    config: IngressConfig | None = None,
    metrics: Metrics | None = None,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Run the ingress until ``stop`` is set.

    Args:
        settings: Broker, Temporal, database, token, task queue.
        registry: The loaded plugins (routes, plans).
        stop: Set to stop: messages in flight get :data:`STOP_GRACE` seconds to settle.
        client: A Temporal client to share (the dev stack's); else one is made lazily.
        engine: The app database; else one is made from the settings (and disposed).
        config: Broker options; else :meth:`IngressConfig.from_settings`.
        metrics: Counters to update (a caller that reads them); else new ones.
        on_ready: Called once, with a line saying what it listens to, when first subscribed.

    Raises:
        InputError: No ingress token is configured (before anything connects).
    """
    config = config or IngressConfig.from_settings(settings)
    token = ingress_token(settings)
    own_engine = engine is None
    engine = engine or make_engine(settings.resolved_database_url)
    metrics = metrics or Metrics()
    pipeline = Pipeline(
        engine=engine,
        registry=registry,
        identity=IngressIdentity(engine, token),
        client=_client_source(settings, client),
        task_queue=settings.task_queue,
        owner=config.client_id,
        metrics=metrics,
    )
    consumer = _Consumer(config=config, pipeline=pipeline, metrics=metrics)
    where = broker_address(config.url).display
    helpers = [
        asyncio.create_task(metrics.log_every(config.metrics_interval, stop)),
        asyncio.create_task(_purge(engine, stop)),
    ]
    pause, connected, announced = 1.0, None, False
    try:
        while not stop.is_set():
            try:
                async with mqtt_client(
                    config.url,
                    client_id=config.client_id,
                    receive_maximum=config.max_in_flight,
                    session_expiry=config.session_expiry,
                    keepalive=config.keepalive,
                ) as mqtt:
                    await mqtt.subscribe(shared_subscription(config.root), qos=1)
                    if connected is not True:
                        log.info(
                            "ingress.connected",
                            broker=where,
                            client_id=config.client_id,
                            subscription=shared_subscription(config.root),
                        )
                    connected, pause = True, 1.0
                    if not announced and on_ready is not None:
                        on_ready(f"{where} · {shared_subscription(config.root)}")
                    announced = True
                    try:
                        await consumer.consume(mqtt, stop)
                    finally:
                        # On a lost connection the messages taken go on settling (they are
                        # not acknowledged: the broker redelivers them and they are seen as
                        # done); at a stop they get a grace period while still connected.
                        if stop.is_set():
                            await consumer.drain(STOP_GRACE)
            except aiomqtt.MqttError as err:
                if connected is not False:
                    log.warning("ingress.broker_unreachable", broker=where, error=str(err)[:200])
                connected = False
                await _sleep_or_stop(pause, stop)
                pause = min(pause * 2, config.reconnect_max)
    finally:
        await consumer.drain(STOP_GRACE)
        assert pipeline.availability is not None
        await pipeline.availability.close()
        for helper in helpers:
            helper.cancel()
        await asyncio.gather(*helpers, return_exceptions=True)
        metrics.log_line()
        if own_engine:
            engine.dispose()
