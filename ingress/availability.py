"""Whether the ingress can deliver now: Temporal, the database and its token all answer.

While something is down, no message is acknowledged: every message in flight waits here, one
probe asks again with growing pauses (1 s doubling to 30 s), and one log line says when the
state changes (down with the reason, another reason, up again), never one per message.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import structlog

__all__ = ["Availability", "Probe"]

log = structlog.get_logger("careflow.ingress")

Probe = Callable[[], Awaitable[str | None]]
"""Returns None when everything answers, else what does not (``temporal_unavailable`` …)."""


class Availability:
    """The up/down state shared by every message in flight.

    Args:
        probe: Asks whether delivery can work again.
        first_pause: Seconds before the first probe.
        max_pause: Longest pause between two probes.
    """

    def __init__(
        self,
        probe: Probe,
        *,
        first_pause: float = 1.0,
        max_pause: float = 30.0,
        on_change: Callable[[str | None], None] | None = None,
    ) -> None:
        self._probe = probe
        self._on_change = on_change
        self._first_pause = first_pause
        self._max_pause = max_pause
        self._up = asyncio.Event()
        self._up.set()
        self._reason: str | None = None
        self._since = 0.0
        self._prober: asyncio.Task[None] | None = None

    @property
    def is_up(self) -> bool:
        """Whether delivery is believed to work."""
        return self._up.is_set()

    @property
    def reason(self) -> str | None:
        """What is down, while down."""
        return self._reason

    async def wait(self) -> None:
        """Return once delivery is believed to work."""
        await self._up.wait()

    def down(self, reason: str) -> None:
        """Something failed: hold every message and probe until it answers again."""
        if not self._up.is_set():
            return
        self._up.clear()
        self._reason, self._since = reason, time.monotonic()
        log.warning("ingress.paused", reason=reason)
        if self._on_change is not None:
            self._on_change(reason)
        self._prober = asyncio.create_task(self._recover())

    async def _recover(self) -> None:
        pause = self._first_pause
        while True:
            await asyncio.sleep(pause)
            try:
                problem = await self._probe()
            except Exception as err:  # a probe that fails is a reason, not a crash
                problem = type(err).__name__
            if problem is None:
                break
            if problem != self._reason:
                log.warning("ingress.still_paused", reason=problem)
                self._reason = problem
                if self._on_change is not None:
                    self._on_change(problem)
            pause = min(pause * 2, self._max_pause)
        log.info(
            "ingress.resumed",
            was=self._reason,
            paused_s=round(time.monotonic() - self._since, 1),
        )
        self._reason = None
        self._up.set()
        if self._on_change is not None:
            self._on_change(None)

    async def close(self) -> None:
        """Stop probing (at shutdown)."""
        if self._prober is not None and not self._prober.done():
            self._prober.cancel()
            await asyncio.gather(self._prober, return_exceptions=True)
        self._up.set()
