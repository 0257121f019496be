"""Replaying a dead letter once its cause is fixed (``careflow ingress replay ID``).

The dead letter's stored payload is read again exactly as the broker's message was (same
topic, same event id), then delivered as the ingress's principal after a look at the
receiving workflow's history, so a replay never applies an event twice. The operator's replay
is audited (``ingress.replay``), and so is the delivery itself (``event.send``, as always).
A replay that is refused again keeps the dead letter, with the new reason.
"""

from __future__ import annotations

import getpass
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy.engine import Engine
from sqlmodel import Session
from temporalio.client import Client

from careflow.access.audit import Attempt, new_request_id, record
from careflow.access.refusals import Refused
from careflow.errors import InputError
from careflow.registry import PluginRegistry
from ingress.identity import IngressIdentity
from ingress.messages import read_message
from ingress.pipeline import Pipeline
from ingress.store import dead_letter, mark_replayed, settle_delivered

__all__ = ["Replayed", "replay_dead_letter"]


@dataclass(frozen=True, slots=True)
class Replayed:
    """What a replay did."""

    dead_letter: int
    event_id: str
    workflow_id: str


def _operator() -> Attempt:
    try:
        who = getpass.getuser()
    except OSError:
        who = "unknown"
    return Attempt(
        principal=None, channel="cli", request_id=new_request_id(), claimed=f"operator:{who}"
    )


async def replay_dead_letter(
    engine: Engine,
    registry: PluginRegistry,
    *,
    letter_id: int,
    token: str,
    client: Callable[[], Awaitable[Client]],
    task_queue: str,
) -> Replayed:
    """Deliver dead letter ``letter_id`` again.

    Raises:
        InputError: No such dead letter, already replayed, or its payload was not stored.
        Refused: Refused again (the dead letter now holds this reason), or Temporal or the
            database is unavailable (the dead letter is unchanged).
    """
    with Session(engine) as session:
        letter = dead_letter(session, letter_id)
        if letter is None:
            raise InputError("id", f"没有此死信 no dead letter {letter_id}")
        if letter.replayed_at is not None:
            raise InputError("id", f"dead letter {letter_id} was replayed to {letter.replayed_to}")
        if letter.payload is None:
            raise InputError(
                "id", f"dead letter {letter_id} has no stored payload ({letter.reason}): resend it"
            )
        topic, payload = letter.topic, bytes(letter.payload)
    root = topic.split("/", 1)[0]
    incoming = read_message(root, topic, payload)
    if incoming.problem is not None:
        raise InputError(
            "id",
            f"dead letter {letter_id} is no event ({incoming.problem.reason}): nothing to "
            "replay; fix the sender and let it send again",
        )
    operator = _operator()
    pipeline = Pipeline(
        engine=engine,
        registry=registry,
        identity=IngressIdentity(engine, token),
        client=client,
        task_queue=task_queue,
        owner="replay",
    )
    try:
        workflow_id = await pipeline.deliver_again(incoming)
    except Refused as refusal:
        if not refusal.unavailable and refusal.reason != "bad_token":
            mark_replayed(
                engine,
                letter_id,
                workflow_id=None,
                reason=refusal.reason,
                field=refusal.field,
                message=refusal.message,
            )
        record(
            engine,
            operator,
            action="ingress.replay",
            outcome="failed" if refusal.unavailable else "refused",
            target=f"dead_letter:{letter_id}",
            district=incoming.district,
            reason=refusal.reason,
            message=refusal.message,
        )
        raise
    mark_replayed(engine, letter_id, workflow_id=workflow_id)
    settle_delivered(engine, incoming.event_id, workflow_id=workflow_id)
    record(
        engine,
        operator,
        action="ingress.replay",
        outcome="accepted",
        target=f"dead_letter:{letter_id}",
        district=incoming.district,
    )
    return Replayed(dead_letter=letter_id, event_id=incoming.event_id, workflow_id=workflow_id)
