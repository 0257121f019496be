"""What the staff service runs on, kept on ``app.state.services``: no globals.

:class:`TemporalConnection` connects to Temporal on first use and again after a failed
connect, so the service starts, and serves login, inbox and audit (which need only the app
database), while Temporal is down; a route that needs Temporal gets a 503 until it is back.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import structlog
from sqlalchemy.engine import Engine
from temporalio.client import Client

from careflow.access.refusals import Refused
from careflow.errors import CareflowError
from careflow.registry import PluginRegistry
from careflow.settings import Settings

__all__ = ["ClientFactory", "Services", "TemporalConnection", "temporal_unavailable"]

log = structlog.get_logger("careflow.staff_service")

ClientFactory = Callable[[], Awaitable[Client]]
"""Makes a connected Temporal client (``lambda: careflow.temporal.connect(settings)``)."""

_CONNECT_TIMEOUT_S = 5.0


def temporal_unavailable() -> Refused:
    """The refusal of an attempt that needs Temporal while it cannot be reached."""
    return Refused(
        "temporal_unavailable",
        "流程引擎暂时不可用，未执行任何操作，请稍后再试 "
        "Temporal is unreachable; nothing was done, please try again later",
    )


class TemporalConnection:
    """A Temporal client made on first use, and made again after a failed connect.

    Once connected, temporalio's client reconnects by itself after a dropped connection; a
    call that fails while Temporal is down is mapped to 503 by the actions.

    Args:
        client: An already connected client (tests), used as is.
        factory: Makes a client; called when there is none yet.
        connect_timeout: Seconds one connect may take before the attempt is answered 503.
    """

    def __init__(
        self,
        *,
        client: Client | None = None,
        factory: ClientFactory | None = None,
        connect_timeout: float = _CONNECT_TIMEOUT_S,
    ) -> None:
        self._client = client
        self._factory = factory
        self._timeout = connect_timeout
        self._lock = asyncio.Lock()

    @property
    def connected(self) -> bool:
        """Whether a client has been made (it may still fail on a call)."""
        return self._client is not None

    async def client(self) -> Client:
        """The client, connecting first if there is none.

        Pass this method itself as an action's client source
        (``actions.complete_task(services.temporal.client, ...)``): the action connects only
        after every check that needs no Temporal passed, and audits a failed connect.

        Raises:
            Refused: ``temporal_unavailable`` (not audited here).
        """
        if self._client is not None:
            return self._client
        if self._factory is None:
            raise temporal_unavailable()
        async with self._lock:
            if self._client is None:
                try:
                    self._client = await asyncio.wait_for(self._factory(), self._timeout)
                except (RuntimeError, OSError, TimeoutError, CareflowError) as err:
                    log.warning("temporal connect failed", error=type(err).__name__)
                    raise temporal_unavailable() from err
            return self._client


@dataclass(frozen=True, slots=True)
class Services:
    """Everything a request needs: settings, plugins, the app database and Temporal."""

    settings: Settings
    registry: PluginRegistry
    engine: Engine
    temporal: TemporalConnection

    @property
    def task_queue(self) -> str:
        """The task queue processes are started on."""
        return self.settings.task_queue
