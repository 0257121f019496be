"""The ingress killed with SIGKILL in the middle of 2,000 readings, then restarted as
``careflow ingress``: every reading is stored exactly once."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import uuid
from pathlib import Path

from sqlalchemy import func
from sqlmodel import Session, col, select

from careflow.db.tables import AuditEntry, IngressMessage
from tests.ingress.support import (
    HEALTH_DISTRICT,
    Stack,
    consenting_elders,
    new_root,
    publish,
    reading,
    stored_readings,
    until,
)

CAREFLOW = Path(sys.executable).parent / "careflow"
READINGS = 2_000


class Ingress:
    """``careflow ingress`` as a subprocess; its stderr kept for the assertion messages."""

    def __init__(self, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [str(CAREFLOW), "ingress"],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self.ready = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)
            if "设备接入 ingress:" in line:
                self.ready.set()

    async def wait_ready(self) -> None:
        for _ in range(300):
            if self.ready.is_set():
                return
            assert self.proc.poll() is None, "".join(self.lines[-20:])
            await asyncio.sleep(0.1)
        raise AssertionError("careflow ingress did not subscribe:\n" + "".join(self.lines[-20:]))

    def kill(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


def _delivered(stack: Stack, root: str) -> int:
    with Session(stack.engine) as session:
        return session.exec(
            select(func.count())
            .select_from(IngressMessage)
            .where(col(IngressMessage.topic).startswith(f"{root}/"))
            .where(IngressMessage.status == "delivered")
        ).one()


async def test_sigkill_mid_stream_loses_and_repeats_nothing(stack: Stack) -> None:
    root, client_id = new_root(), f"cft-kill-{uuid.uuid4().hex[:6]}"
    env = stack.environ(root=root, client_id=client_id)
    elders = consenting_elders(stack.engine, 40)
    topic = f"{HEALTH_DISTRICT}/eldercare.reading"
    stream = [(topic, reading(elders[n % 40], n, device="HS-KILL")) for n in range(READINGS)]
    first = Ingress(env)
    second: Ingress | None = None
    try:
        await first.wait_ready()
        publishing = asyncio.create_task(
            publish(root, stream, rate=250, settled=lambda: _delivered(stack, root))
        )
        await until(lambda: _delivered(stack, root) >= 400, timeout=120, what="400 delivered")
        first.kill()  # in the middle of deliveries: no graceful anything
        killed_at = _delivered(stack, root)
        assert killed_at < READINGS
        second = Ingress(env)  # same client id: the broker's session and its unacked messages
        await second.wait_ready()
        assert await publishing == READINGS
        try:
            await until(
                lambda: len(stored_readings(stack.engine, devices=["HS-KILL"])) == READINGS,
                timeout=300,
                what=f"{READINGS} stored readings",
            )
        except AssertionError as err:
            stored = len(stored_readings(stack.engine, devices=["HS-KILL"]))
            raise AssertionError(
                f"{err}; stored {stored}, delivered {_delivered(stack, root)}, killed at "
                f"{killed_at}; the restarted ingress said:\n"
                + "".join(
                    line
                    for line in second.lines
                    if "audit" not in line and "reading_stored" not in line
                )[-6000:]
            ) from None
    finally:
        first.stop()
        if second is not None:
            second.stop()
    await asyncio.sleep(2)  # anything applied twice would be stored by now
    stored = stored_readings(stack.engine, devices=["HS-KILL"])
    twice = {k: n for k, n in stored.items() if n != 1}
    assert len(stored) == READINGS and not twice, twice
    assert _delivered(stack, root) == READINGS
    # Each event reached Temporal once: one accepted attempt per event id, even for those the
    # kill caught between their signal and their row (found in the history on recovery).
    with Session(stack.engine) as session:
        accepted = session.exec(
            select(AuditEntry.request_id, func.count())
            .join(IngressMessage, col(IngressMessage.event_id) == col(AuditEntry.request_id))
            .where(col(IngressMessage.topic).startswith(f"{root}/"))
            .where(AuditEntry.outcome == "accepted")
            .group_by(col(AuditEntry.request_id))
        ).all()
    assert len(accepted) == READINGS and {n for _, n in accepted} == {1}
