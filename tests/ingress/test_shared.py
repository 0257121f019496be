"""Two ingress instances share the subscription: the broker hands each message to one of
them, both deliver, and every reading is stored once."""

from __future__ import annotations

from tests.ingress.support import (
    HEALTH_DISTRICT,
    Stack,
    consenting_elders,
    new_root,
    publish,
    reading,
    running_ingress,
    stored_readings,
    until,
)

READINGS = 200


async def test_two_instances_share_the_stream(stack: Stack) -> None:
    root = new_root()
    elders = consenting_elders(stack.engine, 20)
    topic = f"{HEALTH_DISTRICT}/eldercare.reading"
    stream = [(topic, reading(elders[n % 20], n, device="HS-SHARE")) for n in range(READINGS)]
    # The same measurement twice: whichever instance gets each copy, it is stored once.
    stream += stream[:20]
    async with (
        running_ingress(stack, root, client_id=f"{root}-a") as a,
        running_ingress(stack, root, client_id=f"{root}-b") as b,
    ):
        await publish(root, stream)
        await until(
            lambda: a.received + b.received == len(stream) and a.in_flight + b.in_flight == 0,
            timeout=120,
            what="every message settled",
        )
    assert a.received > 0 and b.received > 0, (a.received, b.received)  # both took a share
    assert a.delivered + b.delivered == READINGS
    assert a.duplicates + b.duplicates == 20
    stored = await until(
        lambda: len(s := stored_readings(stack.engine, devices=["HS-SHARE"])) == READINGS and s,
        timeout=120,
        what="every reading stored",
    )
    assert set(stored.values()) == {1}
