"""Reading messages: topics, event ids and the refusals found before careflow's checks."""

from __future__ import annotations

import json

import pytest

from ingress.messages import MAX_PAYLOAD_BYTES, event_id_of, read_message
from ingress.topics import TopicError, parse_topic, shared_subscription

ROOT = "careflow"
TOPIC = "careflow/wanbailin/eldercare.reading"
READING = {
    "case_ref": "P00001",
    "device_id": "HS-01",
    "measured_at": "2026-12-01T08:00:00+08:00",
    "systolic": 150,
    "diastolic": 90,
}


def _read(data: object, topic: str = TOPIC) -> object:
    return read_message(ROOT, topic, json.dumps(data).encode())


def test_topics_name_district_and_event_type() -> None:
    assert parse_topic(ROOT, TOPIC) == ("wanbailin", "eldercare.reading")
    assert shared_subscription(ROOT) == "$share/careflow/careflow/+/+"
    for bad in ("careflow/wanbailin", "other/wanbailin/x", "careflow//x", "careflow/a/b/c"):
        with pytest.raises(TopicError):
            parse_topic(ROOT, bad)


def test_the_district_comes_from_the_topic_and_the_message_id_is_not_event_data() -> None:
    incoming = read_message(ROOT, TOPIC, json.dumps({**READING, "message_id": "7"}).encode())
    assert incoming.problem is None and incoming.data is not None
    assert incoming.data["district"] == "wanbailin" and "message_id" not in incoming.data
    assert incoming.event_id.startswith("m") and len(incoming.event_id) == 33
    assert incoming.lane == "wanbailin/P00001"


def test_event_ids_are_stable_and_scoped() -> None:
    data = {**READING, "district": "wanbailin"}
    same = event_id_of("wanbailin", "eldercare.reading", dict(data), "7")
    assert same == event_id_of("wanbailin", "eldercare.reading", dict(data), "7")
    # Another device numbering its messages alike, another district or type: another id.
    assert same != event_id_of("wanbailin", "eldercare.reading", {**data, "device_id": "X"}, "7")
    assert same != event_id_of("yingze", "eldercare.reading", dict(data), "7")
    # Without a message id: the measurement, whatever offset its time was written in.
    utc = {**data, "measured_at": "2026-12-01T00:00:00+00:00"}
    derived = event_id_of("wanbailin", "eldercare.reading", dict(data), None)
    assert derived.startswith("d")
    assert derived == event_id_of("wanbailin", "eldercare.reading", utc, None)
    assert derived != event_id_of("wanbailin", "eldercare.reading", {**data, "systolic": 1}, "x")
    # Neither: the content.
    report = {"district": "x", "case_ref": "P1.20261201", "curtains": "open"}
    assert event_id_of("x", "t", report, None).startswith("c")
    assert event_id_of("x", "t", report, None) == event_id_of("x", "t", dict(report), None)


@pytest.mark.parametrize(
    ("topic", "payload", "reason", "field"),
    [
        (TOPIC, b"{nope", "not_json", "payload"),
        (TOPIC, b"\xff\xfe", "not_json", "payload"),
        (TOPIC, b"[1, 2]", "not_json", "payload"),
        (TOPIC, b"[" * 30_000 + b"]" * 30_000, "not_json", "payload"),
        (TOPIC, b" " * (MAX_PAYLOAD_BYTES + 1), "oversize", "payload"),
        ("careflow/wanbailin", b"{}", "bad_topic", "topic"),
        (TOPIC, json.dumps({**READING, "message_id": 7}).encode(), "bad_input", "message_id"),
        (
            TOPIC,
            json.dumps({**READING, "district": "yingze"}).encode(),
            "bad_input",
            "data.district",
        ),
    ],
)
def test_what_is_no_event_is_refused_with_the_field(
    topic: str, payload: bytes, reason: str, field: str
) -> None:
    incoming = read_message(ROOT, topic, payload)
    assert incoming.problem is not None and incoming.data is None
    assert (incoming.problem.reason, incoming.problem.field) == (reason, field)
    assert incoming.event_id.startswith("x")
    # The same bytes again are the same dead letter, not a second one.
    assert read_message(ROOT, topic, payload).event_id == incoming.event_id
