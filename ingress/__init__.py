"""The MQTT ingress: device and partner events from a broker into their processes, once each.

Composition layer, like the worker and the staff service: nothing in the core, the engine or
the plugins imports it. ``careflow ingress`` runs it; ``careflow dev`` runs it beside the
worker when a broker answers. See :mod:`ingress.service` for the loop,
:mod:`ingress.pipeline` and :mod:`ingress.store` for how a message counts once, and
:mod:`ingress.messages` for event ids.

The event a process receives is the route's model as always; its ``request_id`` is the
event id (``m…``/``d…``/``c…``, see :mod:`ingress.messages`), the same for every delivery of
the same message, so a workflow can ignore an id it has already applied.
"""

from ingress.broker import broker_address, broker_answers
from ingress.identity import (
    DEVICE_EVENT_TYPES,
    INGRESS_ACCOUNT,
    ensure_dev_token,
    ingress_token,
    token_file_path,
)
from ingress.messages import MAX_PAYLOAD_BYTES, Incoming, event_id_of, read_message
from ingress.metrics import Metrics
from ingress.pipeline import Outcome, Pipeline
from ingress.service import IngressConfig, default_client_id, run_ingress
from ingress.topics import parse_topic, shared_subscription, topic_of, topic_rows, topic_table

__all__ = [
    "DEVICE_EVENT_TYPES",
    "INGRESS_ACCOUNT",
    "MAX_PAYLOAD_BYTES",
    "Incoming",
    "IngressConfig",
    "Metrics",
    "Outcome",
    "Pipeline",
    "broker_address",
    "broker_answers",
    "default_client_id",
    "ensure_dev_token",
    "event_id_of",
    "ingress_token",
    "parse_topic",
    "read_message",
    "run_ingress",
    "shared_subscription",
    "token_file_path",
    "topic_of",
    "topic_rows",
    "topic_table",
]
