"""Events through the real broker into their processes: each device event type, duplicates,
bad messages as dead letters (the stream behind them still delivered), scope, replay."""

from __future__ import annotations

from sqlmodel import Session, col, select

from careflow.db.tables import AuditEntry, IngressMessage
from ingress import MAX_PAYLOAD_BYTES
from ingress.confirm import already_delivered
from tests.ingress.support import (
    HEALTH_DISTRICT,
    Message,
    Stack,
    consenting_elders,
    dead_letters,
    new_root,
    publish,
    reading,
    running_ingress,
    stored_readings,
    until,
)


def _audit(stack: Stack, request_id: str) -> list[AuditEntry]:
    with Session(stack.engine) as session:
        return list(
            session.exec(select(AuditEntry).where(AuditEntry.request_id == request_id)).all()
        )


async def test_a_duplicate_message_is_applied_once(stack: Stack) -> None:
    root = new_root()
    elder, other = consenting_elders(stack.engine, 2)
    topic = f"{HEALTH_DISTRICT}/eldercare.reading"
    first = reading(elder, 1, device="HS-DUP")
    async with running_ingress(stack, root) as metrics:
        # The same message twice, then the same measurement without a message id twice: two
        # readings in all, whatever the broker or the device repeats.
        bare = reading(other, 2, device="HS-DUP", message_id=None)
        await publish(root, [(topic, first), (topic, first), (topic, bare), (topic, bare)])
        await until(
            lambda: metrics.delivered + metrics.duplicates >= 4, timeout=60, what="4 settled"
        )
    assert metrics.delivered == 2 and metrics.duplicates == 2 and metrics.dead_letters == 0
    stored = await until(
        lambda: len(s := stored_readings(stack.engine, devices=["HS-DUP"])) == 2 and s,
        timeout=60,
        what="two stored readings",
    )
    assert sorted(stored.values()) == [1, 1], stored
    with Session(stack.engine) as session:
        rows = session.exec(
            select(IngressMessage).where(col(IngressMessage.topic).startswith(f"{root}/"))
        ).all()
    assert [r.status for r in rows] == ["delivered", "delivered"]
    for row in rows:
        # One attempt each reached Temporal, audited as the ingress's account under the event
        # id; the duplicates were answered from the table.
        (entry,) = _audit(stack, row.event_id)
        assert entry.outcome == "accepted" and entry.actor == "S-INGRESS"
        assert entry.action == "event.send" and entry.channel == "api"
        assert entry.target == row.workflow_id


async def test_the_delivered_event_carries_its_event_id_as_request_id(stack: Stack) -> None:
    root = new_root()
    (elder,) = consenting_elders(stack.engine, 1)
    data = reading(elder, 7, device="HS-RID")
    async with running_ingress(stack, root) as metrics:
        await publish(root, [(f"{HEALTH_DISTRICT}/eldercare.reading", data)])
        await until(lambda: metrics.delivered == 1, timeout=60, what="delivery")
    with Session(stack.engine) as session:
        row = session.exec(
            select(IngressMessage).where(col(IngressMessage.topic).startswith(f"{root}/"))
        ).one()
    event = {k: v for k, v in data.items() if k != "message_id"} | {"district": HEALTH_DISTRICT}
    found = await already_delivered(
        stack.env.client,
        stack.registry,
        event_type="eldercare.reading",
        data=event,
        event_id=row.event_id,
    )
    assert found == row.workflow_id  # the signal in the history holds request_id = event id


async def test_bad_messages_become_dead_letters_and_the_stream_goes_on(stack: Stack) -> None:
    root = new_root()
    elders = consenting_elders(stack.engine, 3)
    topic = f"{HEALTH_DISTRICT}/eldercare.reading"
    stream: list[Message] = [
        (topic, reading(elders[0], 1, device="HS-BAD")),
        (topic, b"{not json"),
        (f"{HEALTH_DISTRICT}/eldercare.no_such_event", reading(elders[0], 2, device="HS-BAD")),
        (topic, reading(elders[1], 3, device="HS-BAD", systolic=999)),
        ("atlantis/eldercare.reading", reading(elders[1], 4, device="HS-BAD")),
        (topic, b"[" + b" " * (MAX_PAYLOAD_BYTES + 1) + b"]"),
        (topic, reading(elders[1], 5, device="HS-BAD", district="yingze")),
        (topic, reading(elders[2], 7, device="HS-BAD")),
    ]
    async with running_ingress(stack, root) as metrics:
        await publish(root, stream)
        await until(
            lambda: metrics.delivered + metrics.dead_letters == len(stream),
            timeout=60,
            what="every message settled",
        )
    assert metrics.delivered == 2 and metrics.dead_letters == 6
    await until(
        lambda: len(stored_readings(stack.engine, devices=["HS-BAD"])) == 2,
        timeout=60,
        what="the good readings stored",
    )
    letters = dead_letters(stack.engine, root=root)
    got = {(d.reason, d.field) for d in letters}
    assert got == {
        ("not_json", "payload"),
        ("bad_input", "event_type"),
        ("bad_input", "data.systolic"),
        ("bad_input", "district"),
        ("oversize", "payload"),
        ("bad_input", "data.district"),
    }, got
    for letter in letters:
        assert letter.received_at.tzinfo is not None and len(letter.payload_sha256) == 64
        assert (letter.payload is None) == (letter.reason == "oversize")
        (entry,) = _audit(stack, letter.event_id)  # every refusal audited once
        assert entry.outcome == "refused" and entry.reason == letter.reason
        assert entry.actor == "S-INGRESS"
