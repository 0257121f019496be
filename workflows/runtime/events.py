"""Routed events applied once: a repeat of an event id the process already applied is ignored.

Temporal does not deduplicate signals: two signal requests carrying the same event are two
history events, and a process that appends a reading per signal stores it twice. Every event
careflow delivers carries an id (``request_id``: the ingress's event id, or the request id of
the API call or CLI command that sent it). A process remembers the ids it applied lately and
drops a repeat before its handler runs; the ids travel across continue-as-new in
:attr:`careflow.models.ProcessInput.applied_events`, so a long-lived process (a health
monitor, a tier plan) still recognises a repeat after it started afresh.

What is remembered is bounded (:data:`APPLIED_EVENTS_KEPT`, oldest forgotten first). Across
the life of two processes of one case (a monitor that closed when idle and the next one a
reading starts), the ingress's own table of settled event ids is what recognises a repeat.
"""

from __future__ import annotations

import functools
import inspect
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from temporalio import workflow

from careflow.metrics import EVENTS_ROUTED, count

__all__ = ["APPLIED_EVENTS_KEPT", "AppliedEvents", "event_signal"]

APPLIED_EVENTS_KEPT = 500
"""Event ids a process remembers (about 17 KB carried across continue-as-new)."""

F = TypeVar("F", bound=Callable[..., Any])


class AppliedEvents:
    """The ids of the events a process applied lately, oldest first, bounded."""

    def __init__(self, ids: Iterable[str] = (), *, keep: int = APPLIED_EVENTS_KEPT) -> None:
        self._order: deque[str] = deque(maxlen=keep)
        self._seen: set[str] = set()
        self.extend(ids)

    def add(self, event_id: str) -> bool:
        """Remember ``event_id``; False when it was already remembered (a repeat)."""
        if event_id in self._seen:
            return False
        if len(self._order) == self._order.maxlen:
            self._seen.discard(self._order[0])
        self._order.append(event_id)
        self._seen.add(event_id)
        return True

    def extend(self, ids: Iterable[str]) -> None:
        """Remember every id of ``ids`` (in their order)."""
        for event_id in ids:
            self.add(event_id)

    def recent(self) -> list[str]:
        """The ids remembered, oldest first (what continue-as-new carries)."""
        return list(self._order)

    def __contains__(self, event_id: object) -> bool:
        return event_id in self._seen

    def __len__(self) -> int:
        return len(self._order)


def _event_id(args: tuple[Any, ...]) -> str | None:
    event = args[0] if args else None
    request_id = getattr(event, "request_id", None)
    return request_id if isinstance(request_id, str) and request_id else None


def _count_event(signal: str, args: tuple[Any, ...], outcome: str) -> None:
    # The district comes from the event: a signal-with-start's lands before begin().
    district = getattr(args[0] if args else None, "district", None)
    labels = {
        "district": district if isinstance(district, str) else "",
        "event_type": signal,
        "outcome": outcome,
    }
    count(workflow.metric_meter(), EVENTS_ROUTED, labels)


def event_signal(*, name: str) -> Callable[[F], F]:
    """Declare the signal that receives a routed event: a repeat of an applied id is dropped.

    Use it instead of ``@workflow.signal`` on a process's handler of an
    :class:`careflow.contract.EventRoute` signal; the handler's first argument is the event.
    An event without an id (a test's, an old history's) is always applied.

    Args:
        name: The signal name the route delivers to.
    """

    def decorate(handler: F) -> F:
        def first_time(self: Any, args: tuple[Any, ...]) -> bool:
            event_id = _event_id(args)
            applied = event_id is None or self.apply_once(event_id)
            _count_event(name, args, "applied" if applied else "repeated")
            if applied:
                return True
            workflow.logger.info("process.event_repeated", extra={"event_id": event_id})
            return False

        if inspect.iscoroutinefunction(handler):

            @functools.wraps(handler)
            async def applied_once_async(self: Any, *args: Any) -> None:
                if first_time(self, args):
                    await handler(self, *args)

            wrapped: Callable[..., Any] = applied_once_async
        else:

            @functools.wraps(handler)
            def applied_once(self: Any, *args: Any) -> None:
                if first_time(self, args):
                    handler(self, *args)

            wrapped = applied_once
        return workflow.signal(name=name)(wrapped)  # type: ignore[return-value]

    return decorate
