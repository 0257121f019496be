"""The app as a whole: request ids, security headers, problems for every error, the API
reference, and Temporal being unreachable."""

from __future__ import annotations

import socket

import httpx
from fastapi import FastAPI
from sqlalchemy.engine import Engine
from temporalio.client import Client

from careflow.codec import data_converter
from careflow.registry import PluginRegistry
from careflow.settings import Settings
from staff_service.app import create_app
from tests.staff_service.conftest import (
    BASE,
    DELIVERY_REQUEST,
    STAFF_XINGHUA,
    XINGHUA,
    StaffStack,
    audit_rows,
    last_audit_id,
    login,
    task_row,
)

PROBLEM = "application/problem+json"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def _app(engine: Engine, registry: PluginRegistry, **temporal: object) -> FastAPI:
    return create_app(
        settings=Settings(task_queue="unused"),
        registry=registry,
        engine=engine,
        console=False,
        **temporal,  # type: ignore[arg-type]
    )


async def test_every_answer_has_a_request_id_and_the_security_headers(
    staff_engine: Engine, full_registry: PluginRegistry
) -> None:
    app = _app(staff_engine, full_registry)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as http:
        ok = await http.get("/api/v1/health")
        other = await http.get("/api/v1/health")
        unknown = await http.get("/api/v1/nothing-here")
        wrong_method = await http.put("/api/v1/session")
    assert ok.status_code == 200 and ok.json() == {"status": "ok", "temporal_client": False}
    assert ok.headers["x-request-id"].startswith("r")
    assert ok.headers["x-request-id"] != other.headers["x-request-id"]
    for answer in (ok, unknown, wrong_method):
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["x-frame-options"] == "DENY"
        assert answer.headers["cache-control"] == "no-store"
        csp = answer.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp
        assert "http" not in csp and "unsafe-inline" not in csp
    assert unknown.status_code == 404 and unknown.headers["content-type"] == PROBLEM
    assert unknown.json()["reason"] == "unknown"
    assert unknown.json()["request_id"] == unknown.headers["x-request-id"]
    assert wrong_method.status_code == 405 and wrong_method.json()["status"] == 405


async def test_an_unexpected_error_is_a_500_problem_without_its_message(
    staff_engine: Engine, full_registry: PluginRegistry
) -> None:
    app = _app(staff_engine, full_registry)

    @app.get("/api/v1/boom")
    def boom() -> None:
        raise RuntimeError("P00012 胡强英 13986869801")

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as http:
        answer = await http.get("/api/v1/boom")
    assert answer.status_code == 500 and answer.headers["content-type"] == PROBLEM
    assert answer.json()["reason"] == "internal"
    assert "P00012" not in answer.text and "Traceback" not in answer.text
    assert answer.json()["request_id"] == answer.headers["x-request-id"]


async def test_the_api_reference_is_served_here_with_no_outside_files(
    staff_engine: Engine, full_registry: PluginRegistry
) -> None:
    app = _app(staff_engine, full_registry)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as http:
        page = await http.get("/docs")
        style = await http.get("/docs/style.css")
        document = (await http.get("/openapi.json")).json()
    assert page.status_code == 200 and "/api/v1/tasks/{task_id}/complete" in page.text
    assert "<script" not in page.text and "https://" not in page.text
    assert style.headers["content-type"].startswith("text/css")
    complete = document["paths"]["/api/v1/tasks/{task_id}/complete"]["post"]
    assert complete["operationId"] == "task.complete"
    assert set(complete["responses"]) >= {"200", "202", "401", "403", "404", "409", "422", "503"}
    assert complete["responses"]["409"]["content"] == {
        PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}
    }
    assert "HTTPValidationError" not in document["components"]["schemas"]


async def test_temporal_unreachable_is_a_503_audited_and_nothing_is_done(
    staff_stack: StaffStack,
) -> None:
    task = await staff_stack.dropoff_task()
    # The same database, but a Temporal client that points at a closed port.
    broken = await Client.connect(
        f"127.0.0.1:{_closed_port()}", lazy=True, data_converter=data_converter(Settings())
    )
    app = _app(staff_stack.engine, staff_stack.registry, client=broken)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as http:
        await login(http, STAFF_XINGHUA)  # login and the inbox need no Temporal
        inbox = await http.get("/api/v1/tasks")
        assert task.task_id in [t["task_id"] for t in inbox.json()["tasks"]]
        before = last_audit_id(staff_stack.engine)
        answer = await http.post(
            f"/api/v1/tasks/{task.task_id}/complete", json={"data": {"items_match": True}}
        )
        start = await http.post(
            "/api/v1/processes/delivery",
            json={"district": "wanbailin", "community": task.community, "request": {}},
        )
    assert answer.status_code == 503, answer.text
    assert answer.headers["content-type"] == PROBLEM and answer.headers["retry-after"]
    assert answer.json()["reason"] == "temporal_unavailable"
    assert "不可用" in answer.json()["detail"]
    rows = audit_rows(staff_stack.engine, since_id=before)
    # The start fails on its request before it needs Temporal: its own refusal, 422.
    assert [(r.action, r.outcome, r.reason) for r in rows] == [
        ("task.complete", "failed", "temporal_unavailable"),
        ("process.start", "refused", "bad_input"),
    ]
    assert task_row(staff_stack.engine, task.task_id).status == "open"
    assert start.status_code == 422


async def test_without_any_temporal_client_a_start_is_503_audited(
    staff_engine: Engine, full_registry: PluginRegistry
) -> None:
    async def unreachable() -> Client:
        return await Client.connect(f"127.0.0.1:{_closed_port()}")

    app = _app(staff_engine, full_registry, client_factory=unreachable)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as http:
        await login(http, STAFF_XINGHUA)
        before = last_audit_id(staff_engine)
        answer = await http.post(
            "/api/v1/processes/delivery",
            json={"district": "wanbailin", "community": XINGHUA, "request": DELIVERY_REQUEST},
        )
        # Checks that need no Temporal come first: out of scope is 403 even now.
        elsewhere = await http.post(
            "/api/v1/processes/delivery",
            json={"district": "yingze", "request": DELIVERY_REQUEST},
        )
        health = await http.get("/api/v1/health")
    assert answer.status_code == 503 and answer.json()["reason"] == "temporal_unavailable"
    rows = audit_rows(staff_engine, since_id=before)
    assert elsewhere.status_code == 403 and elsewhere.json()["reason"] == "out_of_scope"
    assert [(r.action, r.outcome, r.reason) for r in rows] == [
        ("process.start", "failed", "temporal_unavailable"),
        ("process.start", "refused", "out_of_scope"),
    ]
    assert health.json()["temporal_client"] is False


async def test_the_console_is_mounted_beside_the_api(
    staff_engine: Engine, full_registry: PluginRegistry
) -> None:
    app = create_app(settings=Settings(), registry=full_registry, engine=staff_engine)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as http:
        login_page = await http.get("/login")
        style = await http.get("/static/console.css")
    assert login_page.status_code == 200 and login_page.headers["cache-control"] == "no-store"
    assert style.status_code == 200 and "cache-control" not in style.headers
    # The console's pages are not part of the API's document.
    assert all(path.startswith("/api/v1/") for path in app.openapi()["paths"])
