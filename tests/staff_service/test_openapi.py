"""Property tests of the HTTP API against its own OpenAPI document (schemathesis).

Every operation gets generated requests, valid and invalid, as an anonymous caller, with a
partner's bearer token and with a staff session (cookie and CSRF header). Whatever comes in:
no 5xx, and every answer (status, content type, body) is one the document declares. A real
worker on the time-skipping server stands behind the app, so starts and completions get real
answers rather than 503.

The app runs under uvicorn on this test's event loop; schemathesis (synchronous, ``requests``)
runs in a thread meanwhile, so the loop keeps serving it and the worker keeps working.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from careflow.db.seed_accounts import DEMO_PASSWORD
from staff_service.server import serve
from tests.staff_service.conftest import (
    ADMIN_WANBAILIN,
    STAFF_XINGHUA,
    StaffStack,
    issue_token,
)

MAX_EXAMPLES = 8
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture
async def live_url(staff_stack: StaffStack) -> AsyncIterator[str]:
    """The app under uvicorn on a free port of this loop."""
    stop = asyncio.Event()
    ready: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(
        serve(staff_stack.app, host="127.0.0.1", port=0, stop=stop, on_ready=ready.set_result)
    )
    await asyncio.wait({ready, task}, timeout=15, return_when=asyncio.FIRST_COMPLETED)
    yield ready.result()
    stop.set()
    await asyncio.wait_for(task, timeout=15)


def _exercise(document: dict[str, Any], base_url: str, headers: dict[str, str]) -> list[str]:
    """Run every operation's generated cases; the failures, one line each."""
    schema = schemathesis.openapi.from_dict(document)
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @settings(
                max_examples=MAX_EXAMPLES,
                deadline=None,
                database=None,
                derandomize=True,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy(generation_mode=mode))
            def check(case: schemathesis.Case) -> None:
                case.call_and_validate(base_url=base_url, headers=headers, checks=CHECKS)

            try:
                check()
            except Unsatisfiable:
                continue  # no invalid request exists for an operation without inputs
            except (Exception, BaseExceptionGroup) as err:  # every operation's failure
                failures.append(f"{operation.label} ({mode.value}): {str(err)[:1500]}")
    return failures


async def _run(staff_stack: StaffStack, base_url: str, headers: dict[str, str]) -> None:
    document = staff_stack.app.openapi()
    failures = await asyncio.to_thread(_exercise, document, base_url, headers)
    assert not failures, "\n\n".join(failures)


async def test_anonymous_callers_get_only_documented_answers(
    staff_stack: StaffStack, live_url: str
) -> None:
    await _run(staff_stack, live_url, {})


async def test_a_token_caller_gets_only_documented_answers(
    staff_stack: StaffStack, live_url: str
) -> None:
    token = issue_token(
        staff_stack.engine,
        staff_stack.registry,
        username=ADMIN_WANBAILIN,
        event_types=["delivery.dropoff"],
        districts=["wanbailin"],
    )
    await _run(staff_stack, live_url, {"Authorization": f"Bearer {token}"})


async def test_a_staff_session_gets_only_documented_answers(
    staff_stack: StaffStack, live_url: str
) -> None:
    await staff_stack.start_delivery()  # so that the inbox and case routes have rows
    async with staff_stack.anonymous() as http:
        answer = await http.post(
            "/api/v1/session", json={"username": STAFF_XINGHUA, "password": DEMO_PASSWORD}
        )
    cookie = answer.cookies["careflow_session"]
    headers = {
        "Cookie": f"careflow_session={cookie}",
        "X-CSRF-Token": answer.json()["csrf_token"],
    }
    await _run(staff_stack, live_url, headers)
