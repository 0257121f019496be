"""The ingress inside ``careflow dev``: on when a broker answers, else one line saying why."""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import replace

import structlog
from sqlalchemy.engine import Engine
from temporalio.client import Client

from careflow.db.engine import make_engine
from careflow.registry import PluginRegistry
from careflow.settings import Settings
from ingress.broker import broker_address, broker_answers
from ingress.identity import ensure_dev_token
from ingress.service import IngressConfig, default_client_id, run_ingress
from ingress.topics import topic_of

__all__ = ["start_dev_ingress"]

log = structlog.get_logger("careflow.ingress")


async def _run(
    settings: Settings,
    registry: PluginRegistry,
    *,
    client: Client,
    engine: Engine,
    stop: asyncio.Event,
    config: IngressConfig,
) -> None:
    try:
        await run_ingress(
            settings, registry, stop=stop, client=client, engine=engine, config=config
        )
    except Exception:
        # The dev stack goes on without it (the worker and the console still work).
        log.exception("ingress.failed")
    finally:
        engine.dispose()


async def start_dev_ingress(
    settings: Settings, registry: PluginRegistry, *, client: Client, stop: asyncio.Event
) -> tuple[str, asyncio.Task[None] | None]:
    """Start the ingress beside the dev stack's worker if the broker answers.

    The ingress's token is made on the first run (``ingress.token`` in the data directory).

    Returns:
        The banner line (where it listens, or that it is off and why) and its task, if on.
    """
    where = broker_address(settings.mqtt_url).display
    problem = await broker_answers(settings.mqtt_url)
    if problem is not None:
        return (
            f"关闭 off: {problem} (start Mosquitto or set CAREFLOW_MQTT_URL, then restart)",
            None,
        )
    engine = make_engine(settings.resolved_database_url)
    try:
        await asyncio.to_thread(ensure_dev_token, settings, engine, registry)
    except Exception as err:  # the stack goes on without the ingress
        engine.dispose()
        log.exception("ingress.token_failed")
        return f"关闭 off: no ingress token ({type(err).__name__}: {err})"[:300], None
    config = IngressConfig.from_settings(settings)
    if settings.mqtt_client_id is None:
        # Two dev stacks on one machine (a checkout's and a test's) keep their sessions apart.
        tag = hashlib.sha256(str(settings.data_dir).encode()).hexdigest()[:6]
        config = replace(config, client_id=f"{default_client_id()[:57]}-{tag}")
    task = asyncio.create_task(
        _run(settings, registry, client=client, engine=engine, stop=stop, config=config)
    )
    topics = topic_of(config.root, "<district>", "<event type>")
    return f"{where} · {topics} · client id {config.client_id}", task
