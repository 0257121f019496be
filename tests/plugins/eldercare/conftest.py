"""Eldercare tests each get a fresh time-skipping server.

Eldercare processes leave long-lived workflows behind by design (a health monitor per elder,
a tier plan, green-channel children started by alerts). On a shared time-skipping server
those leftovers, parked on a stopped worker's task queue, stop the server's clock for the tests
that follow; a server per test keeps every test's time its own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from temporalio.testing import WorkflowEnvironment

from worker.testing import time_skipping_environment


@pytest.fixture
async def ts_env() -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping test server for one test."""
    env = await time_skipping_environment()
    try:
        yield env
    finally:
        await env.shutdown()
