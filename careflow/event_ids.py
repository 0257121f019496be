"""Stable ids of device and partner events, the same on every way in (MQTT, HTTP).

An event's id is its ``request_id`` when delivered: the receiving process ignores an id it
already applied (``workflows.runtime.events``), so the same message sent twice, through the
broker or the API, changes nothing the second time. Ids (33 characters):

* ``m…``: the sender's ``message_id`` (with district, event type and ``device_id``, so two
  devices numbering their messages alike do not collide);
* ``d…``: no message id, but a ``device_id`` and ``measured_at``: the same measurement sent
  twice is one event;
* ``c…``: neither: the event's canonical JSON (a resend of the same content is one event).
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

__all__ = ["MAX_MESSAGE_ID", "digest", "event_id_of", "message_id_problem", "stable_hash"]

MAX_MESSAGE_ID = 128
_HASH_HEX = 32


def digest(payload: bytes) -> str:
    """SHA-256 of a payload, hex: what logs and listings show of it instead of its content."""
    return hashlib.sha256(payload).hexdigest()


def stable_hash(*parts: str) -> str:
    """32 hex digits of SHA-256 over ``parts`` (joined by a separator no part holds)."""
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:_HASH_HEX]


def _instant(value: object) -> str:
    """``measured_at`` as one UTC instant, whatever offset the device wrote it in."""
    text = str(value)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return text
    return moment.astimezone(UTC).isoformat() if moment.tzinfo else text


def message_id_problem(message_id: object) -> str | None:
    """Why ``message_id`` (as a sender gave it) is not usable, or None when it is."""
    if isinstance(message_id, str) and 0 < len(message_id) <= MAX_MESSAGE_ID:
        return None
    return f"message_id must be a string of 1 to {MAX_MESSAGE_ID} characters"


def event_id_of(
    district: str, event_type: str, data: dict[str, Any], message_id: str | None
) -> str:
    """The stable id of an event: the same message (or measurement) always gets the same one."""
    device = data.get("device_id")
    device_id = device if isinstance(device, str) else ""
    if message_id is not None:
        return "m" + stable_hash(district, event_type, device_id, message_id)
    measured = data.get("measured_at")
    if device_id and measured is not None:
        case_ref = str(data.get("case_ref", ""))
        return "d" + stable_hash(district, event_type, device_id, _instant(measured), case_ref)
    canonical = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return "c" + stable_hash(district, event_type, canonical)
