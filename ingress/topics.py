"""Topics of the ingress and the table of what each event type's payload holds.

A device or partner publishes an event to ``<root>/<district>/<event type>`` (root
``careflow`` by default, ``CAREFLOW_MQTT_TOPIC_ROOT``); every ingress instance subscribes to
``$share/careflow/<root>/+/+``, so the broker hands each message to one of them. The payload is
the event as its route's model defines it (``careflow event TYPE`` takes the same JSON), plus
an optional ``message_id``; ``district`` may be left out, the topic names it.

The table :func:`topic_table` prints is generated from the routes' JSON Schemas, so the
README's copy (checked by a test) cannot drift from the code.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from careflow.registry import PluginRegistry

__all__ = [
    "SHARE_GROUP",
    "TopicError",
    "TopicRow",
    "parse_topic",
    "shared_subscription",
    "topic_of",
    "topic_rows",
    "topic_table",
]

SHARE_GROUP = "careflow"
"""The shared-subscription group every ingress instance joins."""
_SET_BY_CAREFLOW = frozenset({"sent_by", "request_id"})
_WILDCARDS = frozenset("+#")


class TopicError(ValueError):
    """A topic that is not ``<root>/<district>/<event type>``."""


def shared_subscription(root: str) -> str:
    """The filter every instance subscribes to: ``$share/careflow/<root>/+/+``."""
    return f"$share/{SHARE_GROUP}/{root}/+/+"


def topic_of(root: str, district: str, event_type: str) -> str:
    """The topic an event of ``event_type`` for ``district`` is published to."""
    return f"{root}/{district}/{event_type}"


def parse_topic(root: str, topic: str) -> tuple[str, str]:
    """``(district, event type)`` of a topic under ``root``.

    Raises:
        TopicError: Not three levels under ``root``, or an empty or wildcard level.
    """
    parts = topic.split("/")
    if len(parts) != 3 or parts[0] != root:
        raise TopicError(f"topic must be {root}/<district>/<event type>")
    _, district, event_type = parts
    if not district or not event_type or _WILDCARDS & set(district + event_type):
        raise TopicError(f"topic must be {root}/<district>/<event type>")
    return district, event_type


@dataclass(frozen=True, slots=True)
class TopicRow:
    """One event type as the ingress takes it."""

    event_type: str
    topic: str
    process: str
    signal: str
    starts: bool
    required: tuple[str, ...]
    optional: tuple[str, ...]


def _type_of(prop: dict[str, Any], defs: dict[str, Any]) -> str:
    """A short type of one JSON Schema property: ``string``, ``date-time``, ``open|closed``."""
    if "$ref" in prop:
        target = defs.get(prop["$ref"].rsplit("/", 1)[-1], {})
        return _type_of(target, defs) if target else "object"
    if "anyOf" in prop:
        kinds = [_type_of(p, defs) for p in prop["anyOf"] if p.get("type") != "null"]
        return "|".join(dict.fromkeys(kinds)) or "null"
    if "enum" in prop:
        return "|".join(json.dumps(v) if not isinstance(v, str) else v for v in prop["enum"])
    if "const" in prop:
        return json.dumps(prop["const"])
    kind = str(prop.get("format") or prop.get("type") or "any")
    if kind == "array":
        return f"[{_type_of(prop.get('items', {}), defs)}]"
    return kind


def topic_rows(registry: PluginRegistry, *, root: str = "careflow") -> list[TopicRow]:
    """Every routed event type, sorted, with its topic and payload fields."""
    rows = []
    for event_type in sorted(registry.routes):
        route = registry.routes[event_type]
        schema = route.model.model_json_schema()
        defs = schema.get("$defs", {})
        props: dict[str, Any] = schema.get("properties", {})
        required = set(schema.get("required", ()))
        fields = {
            name: f"{name}: {_type_of(prop, defs)}"
            for name, prop in props.items()
            if name not in _SET_BY_CAREFLOW
        }
        rows.append(
            TopicRow(
                event_type=event_type,
                topic=topic_of(root, "<district>", event_type),
                process=route.process,
                signal=route.signal,
                starts=route.start_if_absent,
                required=tuple(fields[n] for n in props if n in required and n in fields),
                optional=tuple(fields[n] for n in props if n not in required and n in fields),
            )
        )
    return rows


def topic_table(registry: PluginRegistry, *, root: str = "careflow") -> str:
    """The Markdown table of every event type's topic and payload (the README holds a copy)."""
    lines = [
        "| event type | topic | goes to | required | optional |",
        "| --- | --- | --- | --- | --- |",
    ]
    for row in topic_rows(registry, root=root):
        goes = f"`{row.process}` signal `{row.signal}`" + (" (starts it)" if row.starts else "")
        required = [f"`{f}`" for f in row.required if not f.startswith("district:")]
        optional = [f"`{f}`" for f in row.optional] + ["`message_id: string`"]
        lines.append(
            f"| `{row.event_type}` | `{row.topic}` | {goes} | "
            f"{', '.join(required)} | {', '.join(optional)} |"
        )
    return "\n".join(lines)
