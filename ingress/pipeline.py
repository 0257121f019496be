"""One message from the broker to its process, or to a dead letter: the ingress's core.

:meth:`Pipeline.handle` returns only when the message may be acknowledged: its event was
delivered (now, or by an earlier attempt), or it is stored as a dead letter. While Temporal,
the database or the token fail it waits (:mod:`ingress.availability`) and tries again; it
never acknowledges a message it did not settle. The order of the writes is explained in
:mod:`ingress.store`.

Every event goes through :func:`careflow.access.actions.send_event` as the ingress's principal,
with the event id as the attempt's request id: the token's scope decides, every attempt is
audited, and the delivered event's ``request_id`` is the event id (the field the receiving
workflow can deduplicate on). Refusals before an event exists (oversize, not JSON, a bad
topic) are audited here, under the same action ``event.send``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import Enum

import structlog
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from temporalio.client import Client
from temporalio.service import RPCError

from careflow.access.actions import send_event
from careflow.access.audit import accepted_before, record
from careflow.access.refusals import Refused
from careflow.registry import PluginRegistry
from ingress.availability import Availability
from ingress.confirm import already_delivered
from ingress.identity import IngressIdentity
from ingress.messages import Incoming, digest
from ingress.metrics import Metrics
from ingress.store import Claim, claim, settle_dead, settle_delivered

__all__ = ["BUSY_POLL", "MAX_TRIES_WHILE_UP", "Outcome", "Pipeline", "Unavailable"]

log = structlog.get_logger("careflow.ingress")

BUSY_POLL = 1.0
"""Seconds between two looks at a message another instance holds."""
MAX_TRIES_WHILE_UP = 5
"""Deliveries of one message that Temporal refuses while it answers probes: past these, the
message is a dead letter (``undeliverable``) rather than blocking its lane for ever."""


def _available_reason(reason: str) -> str:
    """A refusal reason for what is down (a bad token counts as such)."""
    return reason if reason in ("temporal_unavailable", "database_unavailable") else "bad_token"


class Outcome(Enum):
    """How a message was settled."""

    DELIVERED = "delivered"
    DUPLICATE = "duplicate"
    DEAD = "dead"


class Unavailable(Exception):
    """Delivery cannot work now (Temporal, database or token); the message waits."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(slots=True)
class Pipeline:
    """Delivers messages as the ingress's identity; shared by every message in flight."""

    engine: Engine
    registry: PluginRegistry
    identity: IngressIdentity
    client: Callable[[], Awaitable[Client]]
    task_queue: str
    owner: str
    metrics: Metrics = field(default_factory=Metrics)
    availability: Availability | None = None
    _active: dict[str, asyncio.Event] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.availability is None:
            self.availability = Availability(self.probe, on_change=self.metrics.paused_by)

    async def probe(self) -> str | None:
        """None when Temporal, the database and the token answer, else what does not."""
        try:
            self.identity.forget()
            self.identity.principal(time.monotonic())
        except SQLAlchemyError:
            return "database_unavailable"
        except Refused as refusal:
            return refusal.reason
        try:
            client = await self.client()
            await client.service_client.check_health()
        except (RPCError, RuntimeError, TimeoutError, OSError):
            return "temporal_unavailable"
        return None

    async def handle(self, incoming: Incoming, *, published: float | None = None) -> Outcome:
        """Settle one message; returns when it may be acknowledged.

        Args:
            incoming: The message.
            published: When it was published (``time.time()``), for the lag metric.
        """
        assert self.availability is not None
        while (running := self._active.get(incoming.event_id)) is not None:
            await running.wait()  # the same event id in flight here: let it settle first
        done = asyncio.Event()
        self._active[incoming.event_id] = done
        try:
            outcome = await self._until_settled(incoming)
        finally:
            del self._active[incoming.event_id]
            done.set()
        if outcome is Outcome.DELIVERED:
            self.metrics.delivered_after(time.time() - published if published else 0.0)
        elif outcome is Outcome.DUPLICATE:
            self.metrics.duplicates += 1
        else:
            self.metrics.dead_letters += 1
        return outcome

    async def _until_settled(self, incoming: Incoming) -> Outcome:
        assert self.availability is not None
        tried = refused_while_up = 0
        while True:
            await self.availability.wait()
            try:
                return await self._once(incoming, retry=tried > 0)
            except Unavailable as err:
                tried += 1
                if err.reason == "temporal_unavailable" and await self.probe() is None:
                    # Temporal answers, yet refused this message: count it, do not loop for ever.
                    refused_while_up += 1
                    if refused_while_up >= MAX_TRIES_WHILE_UP:
                        try:
                            return self._dead(
                                incoming,
                                reason="undeliverable",
                                field=None,
                                message=f"Temporal refused it {refused_while_up} times while up",
                            )
                        except Unavailable as again:
                            err = again
                    else:
                        await asyncio.sleep(min(2.0**refused_while_up, 30.0))
                        continue
                self.availability.down(err.reason)

    async def _once(self, incoming: Incoming, *, retry: bool) -> Outcome:
        try:
            claimed = claim(self.engine, incoming, owner=self.owner)
            while claimed.claim is Claim.BUSY:
                await asyncio.sleep(BUSY_POLL)
                claimed = claim(self.engine, incoming, owner=self.owner)
        except SQLAlchemyError:
            raise Unavailable("database_unavailable") from None
        if claimed.claim is Claim.DONE:
            return Outcome.DUPLICATE
        if incoming.problem is not None:
            problem = incoming.problem
            self._audit_refusal(incoming, reason=problem.reason, message=problem.message)
            return self._dead(
                incoming,
                reason=problem.reason,
                field=problem.field,
                message=problem.message,
                store_payload=problem.reason != "oversize",
            )
        if claimed.claim is Claim.RECOVER or retry:
            earlier = await self._confirm(incoming)
            if earlier is not None:
                self._audit_recovered(incoming, earlier)
                self._settle_delivered(incoming, earlier)
                return Outcome.DUPLICATE
        return await self._deliver(incoming)

    async def _confirm(self, incoming: Incoming) -> str | None:
        assert incoming.event_type is not None and incoming.data is not None
        try:
            client = await self.client()
            return await already_delivered(
                client,
                self.registry,
                event_type=incoming.event_type,
                data=dict(incoming.data),
                event_id=incoming.event_id,
            )
        except (RPCError, RuntimeError, TimeoutError, OSError):
            raise Unavailable("temporal_unavailable") from None

    async def _deliver(self, incoming: Incoming) -> Outcome:
        assert incoming.event_type is not None and incoming.data is not None
        try:
            attempt = self.identity.attempt(time.monotonic(), request_id=incoming.event_id)
        except SQLAlchemyError:
            raise Unavailable("database_unavailable") from None
        except Refused as refusal:  # the token is bad: no message's fault
            self.identity.forget()
            raise Unavailable(refusal.reason) from None
        try:
            workflow_id = await send_event(
                self.client,
                self.engine,
                self.registry,
                attempt,
                event_type=incoming.event_type,
                data=dict(incoming.data),
                task_queue=self.task_queue,
            )
        except Refused as refusal:
            if refusal.unavailable:
                raise Unavailable(refusal.reason) from None
            return self._dead(
                incoming, reason=refusal.reason, field=refusal.field, message=refusal.message
            )
        except (RPCError, RuntimeError, TimeoutError, OSError):
            raise Unavailable("temporal_unavailable") from None
        self._settle_delivered(incoming, workflow_id)
        return Outcome.DELIVERED

    async def deliver_again(self, incoming: Incoming) -> str:
        """Deliver a dead letter's event again (a replay): confirm first, then send.

        Returns:
            The workflow id it went to (now or by an earlier attempt).

        Raises:
            Refused: Refused again (the dead letter keeps the new reason); ``temporal_unavailable``
                or ``database_unavailable`` when delivery cannot work now.
        """
        if incoming.problem is not None:
            problem = incoming.problem
            raise Refused("bad_input", problem.message, field=problem.field)
        try:
            earlier = await self._confirm(incoming)
            if earlier is not None:
                return earlier
            attempt = self.identity.attempt(time.monotonic(), request_id=incoming.event_id)
        except Unavailable as err:
            raise Refused(
                _available_reason(err.reason), f"不能重放 cannot replay now: {err.reason}"
            ) from None
        except SQLAlchemyError:
            raise Refused("database_unavailable", "数据库暂不可用 database unavailable") from None
        try:
            return await send_event(
                self.client,
                self.engine,
                self.registry,
                attempt,
                event_type=incoming.event_type or "",
                data=dict(incoming.data or {}),
                task_queue=self.task_queue,
            )
        except (RPCError, RuntimeError, TimeoutError, OSError):
            raise Refused("temporal_unavailable", "Temporal unreachable") from None

    def _settle_delivered(self, incoming: Incoming, workflow_id: str) -> None:
        try:
            settle_delivered(self.engine, incoming.event_id, workflow_id=workflow_id)
        except SQLAlchemyError:
            # Delivered, but not recorded: the redelivery is confirmed against the history.
            raise Unavailable("database_unavailable") from None

    def _audit_recovered(self, incoming: Incoming, workflow_id: str) -> None:
        """The accepted row of a delivery found in the history, unless its attempt wrote it.

        A kill between the signal and its audit row would otherwise leave an event in a
        process with no row saying who sent it.
        """
        try:
            if accepted_before(self.engine, request_id=incoming.event_id, action="event.send"):
                return
            attempt = self.identity.attempt(time.monotonic(), request_id=incoming.event_id)
            record(
                self.engine,
                attempt,
                action="event.send",
                outcome="accepted",
                target=workflow_id,
                district=incoming.district,
                reason="recovered",
                message="中断前已送达 delivered before a restart (found in the history)",
            )
        except Refused as refusal:
            self.identity.forget()
            raise Unavailable(refusal.reason) from None
        except SQLAlchemyError:
            raise Unavailable("database_unavailable") from None

    def _audit_refusal(self, incoming: Incoming, *, reason: str, message: str) -> None:
        try:
            attempt = self.identity.attempt(time.monotonic(), request_id=incoming.event_id)
        except Refused as refusal:
            self.identity.forget()
            raise Unavailable(refusal.reason) from None
        except SQLAlchemyError:
            raise Unavailable("database_unavailable") from None
        try:
            record(
                self.engine,
                attempt,
                action="event.send",
                outcome="refused",
                target=incoming.event_type or incoming.topic,
                district=incoming.district,
                reason=reason,
                message=message,
            )
        except SQLAlchemyError:
            raise Unavailable("database_unavailable") from None

    def _dead(
        self,
        incoming: Incoming,
        *,
        reason: str,
        field: str | None,
        message: str | None,
        store_payload: bool = True,
    ) -> Outcome:
        try:
            letter = settle_dead(
                self.engine,
                incoming,
                reason=reason,
                field=field,
                message=message,
                store_payload=store_payload,
            )
        except SQLAlchemyError:
            raise Unavailable("database_unavailable") from None
        # Ids, codes and the digest only: the payload and the message text may hold personal
        # data (a refusal message can quote a registry id), so neither is logged.
        log.warning(
            "ingress.dead_letter",
            dead_letter=letter.id,
            event_id=incoming.event_id,
            event_type=incoming.event_type,
            district=incoming.district,
            reason=reason,
            field=field,
            sha256=digest(incoming.payload)[:16],
        )
        return Outcome.DEAD
