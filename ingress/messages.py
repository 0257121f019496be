"""What a message from the broker holds: its topic, its event, its event id.

Nothing here touches the database or Temporal. :func:`read_message` turns the bytes into an
:class:`Incoming`: the event's type and district from the topic, the event (the payload
without ``message_id``, with ``district`` from the topic when left out), and the event id that
makes the message idempotent. A message that cannot be an event at all (oversize, not a JSON
object, a topic outside the tree) carries a :class:`Problem` instead, so it becomes a dead
letter without ever being parsed further.

Event ids (``request_id`` of the delivered event) are :func:`careflow.event_ids.event_id_of`,
the same as the HTTP API's; a message that is no event gets ``x…``, a hash of its topic and
bytes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from careflow.event_ids import MAX_MESSAGE_ID, digest, event_id_of, message_id_problem, stable_hash
from ingress.topics import TopicError, parse_topic

__all__ = [
    "MAX_MESSAGE_ID",
    "MAX_PAYLOAD_BYTES",
    "Incoming",
    "Problem",
    "digest",
    "event_id_of",
    "read_message",
]

MAX_PAYLOAD_BYTES = 64 * 1024
"""Largest payload taken; an event is a few hundred bytes. Larger ones are dead letters whose
payload is not stored."""


@dataclass(frozen=True, slots=True)
class Problem:
    """Why a message is refused before it reaches careflow's checks."""

    reason: str
    """``oversize``, ``not_json``, ``bad_topic`` or ``bad_input``."""
    field: str
    message: str


@dataclass(frozen=True, slots=True)
class Incoming:
    """One message as the ingress reads it."""

    topic: str
    payload: bytes
    event_id: str
    district: str | None
    event_type: str | None
    data: dict[str, Any] | None
    """The event as ``careflow.service.prepare_event`` takes it; None with a problem."""
    problem: Problem | None = None

    @property
    def lane(self) -> str:
        """Messages of one lane are handled in order: those of one case of one district."""
        case_ref = self.data.get("case_ref") if self.data else None
        return f"{self.district}/{case_ref}" if isinstance(case_ref, str) else self.event_id


def _refused(
    topic: str, payload: bytes, problem: Problem, *, district: str | None, event_type: str | None
) -> Incoming:
    return Incoming(
        topic=topic,
        payload=payload,
        event_id="x" + stable_hash(topic, digest(payload)),
        district=district,
        event_type=event_type,
        data=None,
        problem=problem,
    )


def read_message(root: str, topic: str, payload: bytes) -> Incoming:
    """Read one message published under ``root``; never raises on what a device sent."""
    try:
        district, event_type = parse_topic(root, topic)
    except TopicError as err:
        problem = Problem("bad_topic", "topic", str(err))
        return _refused(topic, payload, problem, district=None, event_type=None)

    def refuse(problem: Problem) -> Incoming:
        return _refused(topic, payload, problem, district=district, event_type=event_type)

    if len(payload) > MAX_PAYLOAD_BYTES:
        return refuse(
            Problem(
                "oversize",
                "payload",
                f"消息过大 payload of {len(payload)} bytes is over {MAX_PAYLOAD_BYTES}",
            )
        )
    try:
        data = json.loads(payload.decode("utf-8"))
    except UnicodeDecodeError:
        return refuse(Problem("not_json", "payload", "消息不是 UTF-8 payload is not UTF-8 text"))
    except json.JSONDecodeError as err:
        return refuse(
            Problem("not_json", "payload", f"消息不是 JSON payload is not JSON: {err.msg}")
        )
    except RecursionError:
        return refuse(Problem("not_json", "payload", "payload is nested too deeply"))
    if not isinstance(data, dict):
        return refuse(
            Problem("not_json", "payload", "消息须为 JSON 对象 payload must be a JSON object")
        )
    message_id = data.pop("message_id", None)
    if message_id is not None and (why := message_id_problem(message_id)) is not None:
        return refuse(Problem("bad_input", "message_id", why))
    named = data.setdefault("district", district)
    if named != district:
        return refuse(
            Problem(
                "bad_input",
                "data.district",
                "消息中的区与主题不符 the payload's district differs from the topic's",
            )
        )
    return Incoming(
        topic=topic,
        payload=payload,
        event_id=event_id_of(district, event_type, data, message_id),
        district=district,
        event_type=event_type,
        data=data,
    )
