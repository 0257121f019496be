"""The ingress's counters: logged at a fixed interval, and readable for a metrics endpoint.

``received``, ``delivered``, ``duplicates`` and ``dead_letters`` count messages since start;
``paused`` names what is down while delivery waits (``temporal_unavailable`` …), ``pauses``
counts how often it began to wait;
``in_flight`` is how many are taken but not yet acknowledged; ``lag_s`` is the longest time
from publication (the publisher's ``sent_at`` user property, else when the ingress received
it) to delivery among the messages delivered in the last interval, ``oldest_in_flight_s`` how
long the oldest message in flight has waited. Counts only: no topic, id or payload.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import structlog

__all__ = ["METRICS_INTERVAL", "Metrics"]

METRICS_INTERVAL = 30.0
"""Seconds between two ``ingress.metrics`` log lines."""

log = structlog.get_logger("careflow.ingress")


@dataclass(slots=True)
class Metrics:
    """Counters of one ingress instance."""

    received: int = 0
    delivered: int = 0
    duplicates: int = 0
    dead_letters: int = 0
    paused: str | None = None
    pauses: int = 0
    lag_s: float = 0.0
    last_lag_s: float = 0.0
    _interval_lag: float = 0.0
    _started: dict[int, float] = field(default_factory=dict)

    def took(self, key: int) -> None:
        """A message was received and is now in flight."""
        self.received += 1
        self._started[key] = time.monotonic()

    def settled(self, key: int) -> None:
        """A message is done (acknowledged or left for redelivery)."""
        self._started.pop(key, None)

    def paused_by(self, reason: str | None) -> None:
        """Delivery began (or goes on) waiting for ``reason``; None: it works again."""
        if reason is not None and self.paused is None:
            self.pauses += 1
        self.paused = reason

    def delivered_after(self, seconds: float) -> None:
        """A message was delivered ``seconds`` after it was published."""
        self.delivered += 1
        self.last_lag_s = max(seconds, 0.0)
        self._interval_lag = max(self._interval_lag, self.last_lag_s)

    @property
    def in_flight(self) -> int:
        """Messages taken and not yet settled."""
        return len(self._started)

    def snapshot(self) -> dict[str, Any]:
        """The counters as a dict (what the log line and a metrics endpoint show)."""
        oldest = min(self._started.values(), default=None)
        return {
            "received": self.received,
            "delivered": self.delivered,
            "duplicates": self.duplicates,
            "dead_letters": self.dead_letters,
            "in_flight": self.in_flight,
            "paused": self.paused,
            "pauses": self.pauses,
            "lag_s": round(self._interval_lag, 3),
            "oldest_in_flight_s": round(time.monotonic() - oldest, 3) if oldest else 0.0,
        }

    def log_line(self) -> None:
        """Log the counters once and start a new interval for ``lag_s``."""
        log.info("ingress.metrics", **self.snapshot())
        self.lag_s, self._interval_lag = self._interval_lag, 0.0

    async def log_every(self, interval: float, stop: asyncio.Event) -> None:
        """Log the counters every ``interval`` seconds until ``stop``, and once at the end."""
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), timeout=interval)
            except TimeoutError:
                self.log_line()
        self.log_line()
