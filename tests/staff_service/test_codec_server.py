"""The codec server: 401 without credentials, 403 for a wrong role, 200 for a city auditor;
every request an audit row; CORS headers for the Temporal Web UI's origin only."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.engine import Engine
from temporalio.api.common.v1 import Payload

from careflow.codec import (
    KeyRing,
    codec_data_converter,
    data_converter,
    generate_key,
    key_id_of,
    plain_data_converter,
)
from careflow.errors import InputError
from careflow.registry import PluginRegistry
from careflow.settings import Settings
from staff_service.app import create_app
from staff_service.codec import ui_origin
from tests.staff_service.conftest import (
    ADMIN_WANBAILIN,
    AUDITOR_CITY,
    AUDITOR_WANBAILIN,
    BASE,
    GRID_JIUSI,
    audit_rows,
    issue_token,
    last_audit_id,
    login,
)

UI = "http://127.0.0.1:18233"
ADMIN_CITY = "taiyuan-district_admin"
CANARY = {"elder_name": "张晓明", "phone": "13812345678"}


def _wire(payloads: list[Payload]) -> dict[str, Any]:
    return {
        "payloads": [
            {
                "metadata": {k: base64.b64encode(v).decode() for k, v in p.metadata.items()},
                "data": base64.b64encode(p.data).decode(),
            }
            for p in payloads
        ]
    }


def _payloads(body: dict[str, Any]) -> list[Payload]:
    return [
        Payload(
            metadata={k: base64.b64decode(v) for k, v in p["metadata"].items()},
            data=base64.b64decode(p["data"]),
        )
        for p in body["payloads"]
    ]


@pytest.fixture
def codec_app(staff_engine: Engine, full_registry: PluginRegistry) -> FastAPI:
    """The staff service without Temporal (the codec server needs none), UI on port 18233."""
    settings = Settings(ui_port=18233)
    assert ui_origin(settings) == UI
    return create_app(settings=settings, registry=full_registry, engine=staff_engine, console=False)


@pytest.fixture
async def http(codec_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=codec_app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
        yield client


async def _sealed() -> dict[str, Any]:
    """The canary encrypted as a worker would (the suite's test-only ring)."""
    return _wire(await data_converter(Settings()).encode([CANARY]))


async def _decode(http: httpx.AsyncClient, body: dict[str, Any], **headers: str) -> httpx.Response:
    return await http.post(
        "/codec/decode", json=body, headers={"X-Namespace": "default", "Origin": UI, **headers}
    )


async def test_without_a_session_or_token_401_and_nothing_decoded(
    http: httpx.AsyncClient, staff_engine: Engine
) -> None:
    body = await _sealed()
    before = last_audit_id(staff_engine)
    answer = await _decode(http, body)
    assert answer.status_code == 401
    assert answer.headers["content-type"] == "application/problem+json"
    assert "张晓明" not in answer.text and "payloads" not in answer.json()
    # The UI can read why (its origin gets CORS headers on errors too).
    assert answer.headers["access-control-allow-origin"] == UI
    [row] = audit_rows(staff_engine, since_id=before)
    assert (row.action, row.outcome, row.reason, row.actor, row.target) == (
        "codec.decode",
        "refused",
        "not_logged_in",
        "anonymous",
        "namespace:default",
    )


@pytest.mark.parametrize("username", [GRID_JIUSI, AUDITOR_WANBAILIN, ADMIN_WANBAILIN])
async def test_a_wrong_role_or_a_grant_narrower_than_the_city_is_403_and_audited(
    http: httpx.AsyncClient, staff_engine: Engine, username: str
) -> None:
    body = await _sealed()
    await login(http, username)
    before = last_audit_id(staff_engine)
    answer = await _decode(http, body, **{"X-Careflow-Workflow-Id": "delivery-wanbailin-x1"})
    assert answer.status_code == 403 and answer.json()["reason"] == "wrong_role"
    assert "张晓明" not in answer.text
    [row] = audit_rows(staff_engine, since_id=before)
    assert (row.action, row.outcome, row.reason, row.target) == (
        "codec.decode",
        "refused",
        "wrong_role",
        "delivery-wanbailin-x1",
    )
    assert row.actor != "anonymous"


@pytest.mark.parametrize("username", [AUDITOR_CITY, ADMIN_CITY])
async def test_a_city_auditor_decodes_without_a_csrf_token_and_it_is_audited(
    http: httpx.AsyncClient, staff_engine: Engine, username: str
) -> None:
    body = await _sealed()
    await login(http, username)
    del http.headers["X-CSRF-Token"]  # the UI cannot know it; CORS and SameSite guard here
    before = last_audit_id(staff_engine)
    answer = await _decode(http, body)
    assert answer.status_code == 200, answer.text
    [decoded] = _payloads(answer.json())
    assert decoded.metadata["encoding"] == b"json/plain"
    assert "张晓明".encode() in decoded.data and b"13812345678" in decoded.data
    assert answer.headers["access-control-allow-origin"] == UI
    assert answer.headers["access-control-allow-credentials"] == "true"
    [row] = audit_rows(staff_engine, since_id=before)
    assert (row.action, row.outcome, row.target, row.channel) == (
        "codec.decode",
        "accepted",
        "namespace:default",
        "api",
    )
    # An API or CLI caller names the workflow; the row says which.
    before = last_audit_id(staff_engine)
    named = await _decode(http, body, **{"X-Careflow-Workflow-Id": "delivery-wanbailin-x2"})
    assert named.status_code == 200
    [row] = audit_rows(staff_engine, since_id=before)
    assert row.target == "delivery-wanbailin-x2"


async def test_a_city_auditors_token_decodes(
    http: httpx.AsyncClient, staff_engine: Engine, full_registry: PluginRegistry
) -> None:
    token = issue_token(
        staff_engine,
        full_registry,
        username=AUDITOR_CITY,
        event_types=[next(iter(full_registry.routes))],
        districts=["wanbailin"],
    )
    answer = await _decode(http, await _sealed(), Authorization=f"Bearer {token}")
    assert answer.status_code == 200, answer.text
    bad = await _decode(http, await _sealed(), Authorization="Bearer cft_nope_nope")
    assert bad.status_code == 401 and bad.json()["reason"] == "bad_token"


async def test_encode_then_decode_and_plain_payloads_pass_through(
    http: httpx.AsyncClient,
) -> None:
    await login(http, AUDITOR_CITY)
    plain = await Settings_plain_payloads()
    encoded = await http.post(
        "/codec/encode", json=_wire(plain), headers={"X-Namespace": "default"}
    )
    assert encoded.status_code == 200, encoded.text
    sealed = _payloads(encoded.json())
    assert [key_id_of(p) for p in sealed] == ["test-only-k2", "test-only-k2"]
    assert all(b"P00012" not in p.data for p in sealed)
    decoded = await _decode(http, encoded.json())
    assert _payloads(decoded.json()) == plain
    # Plain payloads (histories recorded before encryption) come back as they are.
    passed = await _decode(http, _wire(plain))
    assert _payloads(passed.json()) == plain


async def Settings_plain_payloads() -> list[Payload]:

    return await plain_data_converter().encode([{"ref": "P00012"}, "text"])


async def test_bad_input_is_refused_naming_the_field_and_audited(
    http: httpx.AsyncClient, staff_engine: Engine
) -> None:
    await login(http, AUDITOR_CITY)
    stranger = codec_data_converter(KeyRing([generate_key()], source="elsewhere"))
    [foreign] = await stranger.encode([CANARY])
    foreign_id = key_id_of(foreign)
    cases: list[tuple[dict[str, Any], dict[str, str], str, str]] = [
        (_wire([foreign]), {}, "payloads.0.metadata.encryption-key-id", str(foreign_id)),
        ({"payloads": [{"metadata": {}, "data": "%%%"}]}, {}, "payloads.0.data", "base64"),
        ({"nope": 1}, {}, "payloads", "payloads"),
        (await _sealed(), {"X-Namespace": "other"}, "X-Namespace", "default"),
    ]
    for body, headers, field, words in cases:
        before = last_audit_id(staff_engine)
        answer = await _decode(http, body, **headers)
        assert answer.status_code in (403, 422), answer.text
        problem = answer.json()
        assert problem["field"] == field and words in problem["detail"], problem
        [row] = audit_rows(staff_engine, since_id=before)
        assert row.action == "codec.decode" and row.outcome == "refused"
    # Not JSON: a cross-origin page could send text/plain without a preflight; refused.
    before = last_audit_id(staff_engine)
    answer = await http.post(
        "/codec/decode", content=b'{"payloads": []}', headers={"Content-Type": "text/plain"}
    )
    assert answer.status_code == 422 and answer.json()["field"] == "content-type"
    assert [r.reason for r in audit_rows(staff_engine, since_id=before)] == ["bad_input"]


async def test_cors_only_for_the_ui_origin(http: httpx.AsyncClient) -> None:
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type,x-namespace",
    }
    ok = await http.options("/codec/decode", headers={"Origin": UI, **preflight})
    assert ok.status_code == 204
    assert ok.headers["access-control-allow-origin"] == UI
    assert ok.headers["access-control-allow-credentials"] == "true"
    assert "POST" in ok.headers["access-control-allow-methods"]
    assert "x-namespace" in ok.headers["access-control-allow-headers"].lower()
    for origin in ("http://evil.test", "http://127.0.0.1:8000", "http://localhost:18233", "null"):
        refused = await http.options("/codec/encode", headers={"Origin": origin, **preflight})
        assert refused.status_code == 403
        assert "access-control-allow-origin" not in refused.headers
    # A logged-in auditor's answer to another origin carries no CORS header: unreadable there.
    await login(http, AUDITOR_CITY)
    answer = await _decode(http, await _sealed(), Origin="http://evil.test")
    assert answer.status_code == 200 and "access-control-allow-origin" not in answer.headers
    assert answer.headers["vary"] == "Origin"
    # Nothing else of the service answers cross-origin.
    api = await http.get("/api/v1/tasks", headers={"Origin": UI})
    assert "access-control-allow-origin" not in api.headers


def test_ui_origin_must_be_an_origin() -> None:
    assert ui_origin(Settings(ui_origin="https://temporal.example.org/")) == (
        "https://temporal.example.org"
    )
    for bad in ("*", "http://ui.test/path", "ui.test:8233", "http://*.test"):
        with pytest.raises(InputError) as raised:
            ui_origin(Settings(ui_origin=bad))
        assert raised.value.field == "CAREFLOW_UI_ORIGIN"
