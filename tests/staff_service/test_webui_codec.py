"""The Temporal Web UI decodes payloads through the codec server for a logged-in supervisor.

A real ``temporal server start-dev`` with its Web UI, started as ``careflow dev`` starts it
(:class:`cli.devserver.DevServer`, so with ``--ui-codec-endpoint`` pointing at the
staff service), the staff service on its own port, and Debian's Chromium driven by
Playwright. A process is started whose input holds a known field; then:

* the city auditor logs in to the console and opens the process in the Web UI: the input is
  shown decoded, and each decode is an audit row;
* a browser with no console session opens the same page: the input is shown as the stored
  ciphertext (base64), the codec server having answered 401.

The UI sends the console's cookie only when its "include cross-origin credentials" codec
setting is on. ``temporal server start-dev`` has no flag for it, so the test switches it on
as a person would in the UI's Data Encoder settings: the UI keeps those settings in
``localStorage`` (``endpoint``, ``includeCredentials``, ``overrideRemoteCodecConfiguration``),
which the test writes before the UI's first page loads.

Chromium is ``/usr/bin/chromium``; without it the test skips, but fails when ``CI=true``.
Screenshots go to ``/tmp/careflow-webui-codec-*.png``.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel
from sqlalchemy.engine import Engine
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import GetWorkflowExecutionHistoryRequest

from careflow.codec import key_id_of
from careflow.db.seed_accounts import DEMO_PASSWORD
from careflow.registry import PluginRegistry
from careflow.settings import Settings
from careflow.temporal import connect
from cli.devserver import DevServer, DevServerConfig
from staff_service.app import create_app
from staff_service.server import serve
from tests.staff_service.conftest import AUDITOR_CITY, audit_rows, last_audit_id

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SHOTS = Path("/tmp")
MARKER = "CANARY-张晓明-13812345678"

pytestmark = pytest.mark.timeout(240)


class VisitInput(BaseModel):
    """A process input with a known field (no worker runs it: it stays open)."""

    note: str
    visits: int


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.fixture
def chromium() -> Path:
    """Debian's Chromium, checked before anything else is set up."""
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing: apt-get install -y chromium fonts-noto-cjk"
        if os.environ.get("CI") == "true":
            pytest.fail(f"browser tests need Chromium in CI: {reason}")
        pytest.skip(reason)
    return CHROMIUM


@dataclass(frozen=True)
class Stack:
    """The dev server with its UI, and the staff service, on free ports."""

    settings: Settings
    ui: str
    console: str
    codec: str
    workflow_id: str
    sealed: str
    """The start of the input's ciphertext (base64), as the UI shows an undecoded payload."""


@pytest.fixture
async def stack(
    chromium: Path, tmp_path: Path, staff_engine: Engine, full_registry: PluginRegistry
) -> AsyncIterator[Stack]:
    settings = Settings(
        data_dir=tmp_path,
        temporal_address=f"127.0.0.1:{_free_port()}",
        ui_port=_free_port(),
        api_host="127.0.0.1",
        api_port=_free_port(),
    )
    config = DevServerConfig.from_settings(settings)
    assert config.codec_endpoint == f"http://127.0.0.1:{settings.api_port}/codec"
    assert "--ui-codec-endpoint" in config.command()
    server = DevServer(config)
    server.start()
    stop = asyncio.Event()
    service: asyncio.Task[None] | None = None
    try:
        await server.wait_ready(timeout=90)
        client = await connect(settings)
        workflow_id = f"webui-codec-{uuid.uuid4().hex[:8]}"
        await client.start_workflow(
            "CodecUiCheck",
            VisitInput(note=MARKER, visits=3),
            id=workflow_id,
            task_queue=f"idle-{uuid.uuid4()}",
        )
        history = await client.workflow_service.get_workflow_execution_history(
            GetWorkflowExecutionHistoryRequest(
                namespace="default", execution=WorkflowExecution(workflow_id=workflow_id)
            )
        )
        [sealed] = history.history.events[
            0
        ].workflow_execution_started_event_attributes.input.payloads
        assert key_id_of(sealed) == "test-only-k2"
        app = create_app(settings=settings, registry=full_registry, engine=staff_engine)
        ready: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        service = asyncio.create_task(
            serve(
                app,
                host=settings.api_host,
                port=settings.api_port,
                stop=stop,
                on_ready=ready.set_result,
            )
        )
        console = await asyncio.wait_for(ready, 20)
        yield Stack(
            settings=settings,
            ui=config.ui_url,
            console=console,
            codec=config.codec_endpoint or "",
            workflow_id=workflow_id,
            sealed=base64.b64encode(sealed.data).decode()[:24],
        )
    finally:
        stop.set()
        if service is not None:
            await asyncio.wait_for(service, 20)
        await asyncio.to_thread(server.stop)


@pytest.fixture
async def browser(chromium: Path) -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(chromium), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield launched
        finally:
            await launched.close()


async def _context(browser: Any, stack: Stack) -> Any:
    """A browser whose Web UI has "include cross-origin credentials" switched on."""
    context = await browser.new_context(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
    settings = {
        "endpoint": json.dumps(stack.codec),
        "includeCredentials": "true",
        "overrideRemoteCodecConfiguration": "true",
    }
    await context.add_init_script(
        f"if (location.origin === {json.dumps(stack.ui)}) {{"
        + "".join(
            f"localStorage.setItem({json.dumps(k)}, {json.dumps(v)});" for k, v in settings.items()
        )
        + "}"
    )
    return context


async def _open_workflow(page: Any, stack: Stack, name: str) -> str:
    """The workflow's page in the Web UI once its input is shown (decoded or not); its HTML."""
    await page.goto(f"{stack.ui}/namespaces/default/workflows/{stack.workflow_id}")
    html = ""
    try:
        # Polled from here: the UI's CSP forbids the eval a page-side wait would need.
        for _ in range(240):
            html = await page.content()
            if MARKER in html or stack.sealed in html:
                await asyncio.sleep(1.0)  # the rest of the payloads settle
                html = await page.content()
                break
            await asyncio.sleep(0.25)
    finally:
        await page.screenshot(path=str(SHOTS / f"careflow-webui-codec-{name}.png"), full_page=True)
    return html


async def test_a_logged_in_auditor_sees_decoded_input_and_no_session_sees_ciphertext(
    stack: Stack, browser: Any, staff_engine: Engine
) -> None:
    codec_calls: list[tuple[str, int]] = []

    # Without a console session first: the codec server answers 401, nothing decoded.
    anonymous = await _context(browser, stack)
    page = await anonymous.new_page()
    page.on(
        "response",
        lambda r: codec_calls.append((r.url, r.status)) if "/codec/" in r.url else None,
    )
    before = last_audit_id(staff_engine)
    text = await _open_workflow(page, stack, "no-session")
    assert MARKER not in text and stack.sealed in text  # the ciphertext, as stored
    assert "Codec Server could not connect" in text
    assert codec_calls and all(status == 401 for _url, status in codec_calls), codec_calls
    refused = audit_rows(staff_engine, since_id=before)
    assert refused and {(r.action, r.reason) for r in refused} == {
        ("codec.decode", "not_logged_in")
    }
    await anonymous.close()

    # The city auditor logs in to the console, then opens the same page in the Web UI.
    codec_calls.clear()
    auditor = await _context(browser, stack)
    page = await auditor.new_page()
    page.on(
        "response",
        lambda r: codec_calls.append((r.url, r.status)) if "/codec/" in r.url else None,
    )
    await page.goto(stack.console + "/login")
    await page.get_by_label("用户名").fill(AUDITOR_CITY)
    await page.get_by_label("密码").fill(DEMO_PASSWORD)
    await page.get_by_role("button", name="登录").click()
    await page.wait_for_url(stack.console + "/tasks")
    before = last_audit_id(staff_engine)
    text = await _open_workflow(page, stack, "auditor")
    assert MARKER in text, text[:2000]
    assert any(url.startswith(stack.codec + "/decode") and s == 200 for url, s in codec_calls)
    decoded = [r for r in audit_rows(staff_engine, since_id=before) if r.action == "codec.decode"]
    assert decoded and all(r.outcome == "accepted" for r in decoded)
    assert {r.target for r in decoded} == {"namespace:default"}
    await auditor.close()
