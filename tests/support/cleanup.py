"""Ending what a test started, so it cannot hold up the tests after it.

On the session's time-skipping server, a process left waiting fires its timers while a later
test skips time, and its work, with no worker left, keeps the server from skipping time for
every test that follows. Terminating a process while one of its activities is still running
has the same effect (the server keeps that activity's hold on the clock), so terminate only
once the test's worker has stopped, and with it every activity it was running.
"""

from __future__ import annotations

import contextlib

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from temporalio.client import Client
from temporalio.service import RPCError

from careflow.db.tables import AuditEntry, CaseRecord, Task

__all__ = ["terminate_started"]


async def terminate_started(client: Client, engine: Engine) -> int:
    """Terminate every process the test's database knows of (tasks, case records, accepted
    starts and events); one already ended is left alone.

    Returns:
        How many ids were tried.
    """
    with Session(engine) as session:
        ids = set(session.exec(select(Task.workflow_id)).all())
        ids.update(session.exec(select(CaseRecord.workflow_id)).all())
        ids.update(
            target
            for target in session.exec(
                select(AuditEntry.target).where(
                    col(AuditEntry.action).in_(("process.start", "event.send")),
                    AuditEntry.outcome == "accepted",
                )
            ).all()
            if target
        )
    for workflow_id in sorted(ids):
        with contextlib.suppress(RPCError):  # not found, or already closed
            await client.get_workflow_handle(workflow_id).terminate("test finished")
    return len(ids)
