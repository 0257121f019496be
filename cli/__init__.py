"""The ``careflow`` command line: plugins, processes, tasks, events, schedules, the dev stack.

Each command group lives in its own module and adds itself to :data:`app` through its
``register`` function, so the order and the full command set are visible here.
"""

from __future__ import annotations

import contextlib
import os
import sys

from cli import (
    audit_cmd,
    cases_cmd,
    consent_cmd,
    db_cmd,
    events_cmd,
    ingress_cmd,
    keys_cmd,
    plugins_cmd,
    process_cmd,
    report_cmd,
    retention_cmd,
    schedules_cmd,
    stack_cmd,
    staff_cmd,
    tasks_cmd,
)
from cli.app import app

__all__ = ["app", "main"]

for _module in (
    plugins_cmd,
    process_cmd,
    tasks_cmd,
    cases_cmd,
    events_cmd,
    schedules_cmd,
    db_cmd,
    staff_cmd,
    audit_cmd,
    report_cmd,
    consent_cmd,
    keys_cmd,
    retention_cmd,
    stack_cmd,
    ingress_cmd,
):
    _module.register(app)


def main() -> None:
    """Entry point of the ``careflow`` console script.

    Exits with ``os._exit`` after flushing output: temporalio's Rust runtime keeps threads
    that can touch the GIL while CPython finalizes, which aborts a short-lived client process
    ("PyGILState_Release: thread state must be current", temporalio/sdk-python#300) about one
    run in four here. Every command has closed its resources by the time ``app`` returns, so
    skipping interpreter teardown loses nothing.
    """
    code: int = 0
    try:
        app(prog_name="careflow")
    except SystemExit as done:
        code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
        if isinstance(done.code, str):
            print(done.code, file=sys.stderr)
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError):  # e.g. a closed pipe: `careflow tasks | head`
                stream.flush()
    os._exit(code)
