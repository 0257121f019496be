"""The codec server: the Temporal Web UI asks it to decode (and encode) payloads.

Temporal's codec-server contract: ``POST /codec/decode`` and ``POST /codec/encode`` with the
JSON body ``{"payloads": [{"metadata": {key: base64}, "data": base64}]}`` and the header
``X-Namespace``; the answer has the same shape. The dev stack starts the UI with
``--ui-codec-endpoint http://<api host>:<api port>/codec``.

Who may use it: an authenticated account (the console's session cookie, or an API token as
``Authorization: Bearer``) holding an auditing grant city-wide, :data:`CODEC_DECODE_ROLES` at
``taiyuan`` (the namespace holds every district's processes, so a narrower grant would
decode other districts' data too). The namespace must be the one this service serves. Every
request, accepted or refused, is an audit row (``codec.decode`` / ``codec.encode``): who, and
which workflow when the caller says (``X-Careflow-Workflow-Id``; API and CLI callers send
it, the UI sends only the namespace, written as ``namespace:<name>``). Without a session or a
token: 401, nothing decoded. A wrong role: 403.

CORS: only the Web UI's origin (``CAREFLOW_UI_ORIGIN``, default
``http://<host of CAREFLOW_TEMPORAL_ADDRESS>:<CAREFLOW_UI_PORT>``) gets CORS headers, with
credentials allowed and never a wildcard; its preflight ``OPTIONS`` is answered here. Every
other origin gets none, so its page cannot read an answer.

Why these POSTs need no CSRF token, when every other cookie-authenticated POST does
(:func:`staff_service.deps.check_csrf`): the UI cannot know the console's CSRF token, and need
not. A forged request is what CSRF defends against; here it cannot happen unseen:

* the body must be ``application/json`` (refused otherwise), which a browser sends
  cross-origin only after a preflight, and the preflight succeeds only for the allow-listed
  UI origin; a page elsewhere never gets its request sent with the cookie;
* the session cookie is ``SameSite=Strict``, so a page of another site does not send it at
  all (the UI must be served from the same host as the console, as the dev stack does);
* decoding changes nothing but the audit trail, and its answer is readable only by the UI's
  origin (CORS), which is the reader this endpoint exists for.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from temporalio.api.common.v1 import Payload

from careflow.access.actions.attempts import Audited
from careflow.access.principal import Principal
from careflow.access.refusals import Refused
from careflow.access.scope import CITY
from careflow.codec import CodecError, EncryptionCodec, UnknownKeyError, data_converter
from careflow.errors import InputError
from careflow.settings import Settings
from staff_service.deps import attempt_for, optional_caller, services
from staff_service.problems import refusal_problem

__all__ = [
    "CODEC_DECODE_ROLES",
    "MAX_BODY_BYTES",
    "MAX_PAYLOADS",
    "NAMESPACE_HEADER",
    "WORKFLOW_HEADER",
    "codec_router",
    "install_codec",
    "ui_origin",
]

CODEC_DECODE_ROLES = frozenset({"auditor", "district_admin"})
"""Roles that may decode payloads when granted city-wide (审计, 区民政 at 太原市)."""
NAMESPACE_HEADER = "X-Namespace"
WORKFLOW_HEADER = "X-Careflow-Workflow-Id"
MAX_PAYLOADS = 1000
MAX_BODY_BYTES = 16 * 1024 * 1024
"""Far above one event's payloads (Temporal refuses a payload over 2 MiB)."""

_ORIGIN = re.compile(r"^https?://(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$")
_WORKFLOW_ID = re.compile(r"^[\x21-\x7e]{1,255}$")  # printable ASCII, no spaces
_ALLOWED_HEADERS = f"Content-Type, {NAMESPACE_HEADER}, {WORKFLOW_HEADER}, Authorization"


def ui_origin(settings: Settings) -> str:
    """The one origin the codec server answers cross-origin: the Temporal Web UI's.

    Raises:
        InputError: ``CAREFLOW_UI_ORIGIN`` is not ``scheme://host[:port]`` (no path, no
            wildcard).
    """
    if settings.ui_origin is not None:
        origin = settings.ui_origin.strip().rstrip("/")
        if not _ORIGIN.match(origin):
            raise InputError(
                "CAREFLOW_UI_ORIGIN",
                f"{settings.ui_origin!r} is not an origin such as http://127.0.0.1:8233 "
                "(scheme, host and port only; no path, no wildcard)",
            )
        return origin
    host = settings.temporal_address.rpartition(":")[0]
    if host in ("0.0.0.0", "[::]"):  # the UI listens everywhere; a browser uses loopback
        host = "127.0.0.1"
    return f"http://{host}:{settings.ui_port}"


def _cors_headers(request: Request, allowed: str) -> dict[str, str]:
    """CORS headers for the UI's origin only; every answer varies by Origin."""
    if request.headers.get("origin") == allowed:
        return {
            "Access-Control-Allow-Origin": allowed,
            "Access-Control-Allow-Credentials": "true",
            "Vary": "Origin",
        }
    return {"Vary": "Origin"}


def _may_decode(principal: Principal) -> bool:
    return any(g.role in CODEC_DECODE_ROLES and g.area == CITY for g in principal.grants)


def _b64(value: Any, field: str) -> bytes:
    if not isinstance(value, str):
        raise InputError(field, "must be a base64 string")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise InputError(field, "is not valid base64") from None


def _payloads(body: Any) -> list[Payload]:
    """The request's payloads; each bad part named by its path (``payloads.2.data``)."""
    if not isinstance(body, dict) or not isinstance(body.get("payloads"), list):
        raise InputError("payloads", 'expected {"payloads": [{"metadata": {…}, "data": …}]}')
    items = body["payloads"]
    if len(items) > MAX_PAYLOADS:
        raise InputError("payloads", f"at most {MAX_PAYLOADS} payloads per request")
    found = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise InputError(f"payloads.{i}", "must be an object with metadata and data")
        metadata = item.get("metadata") or {}
        if not isinstance(metadata, dict):
            raise InputError(f"payloads.{i}.metadata", "must be an object of base64 values")
        found.append(
            Payload(
                metadata={
                    str(k): _b64(v, f"payloads.{i}.metadata.{k}") for k, v in metadata.items()
                },
                data=_b64(item.get("data") or "", f"payloads.{i}.data"),
            )
        )
    return found


def _wire(payloads: list[Payload]) -> dict[str, Any]:
    return {
        "payloads": [
            {
                "metadata": {k: base64.b64encode(v).decode("ascii") for k, v in p.metadata.items()},
                "data": base64.b64encode(p.data).decode("ascii"),
            }
            for p in payloads
        ]
    }


def _target(request: Request, namespace: str) -> str:
    workflow_id = request.headers.get(WORKFLOW_HEADER)
    if workflow_id is None:
        return f"namespace:{namespace}"
    if not _WORKFLOW_ID.match(workflow_id):
        raise InputError(WORKFLOW_HEADER, "must be a workflow id (printable, at most 255)")
    return workflow_id


async def _body(request: Request) -> Any:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        # Also what keeps every cross-origin call preflighted (see the module docstring).
        raise InputError("content-type", "must be application/json")
    raw = await request.body()
    if len(raw) > MAX_BODY_BYTES:
        raise InputError("(body)", f"larger than {MAX_BODY_BYTES // (1024 * 1024)} MiB")
    try:
        return json.loads(raw)
    except ValueError:
        raise InputError("(body)", "not valid JSON") from None


def _codec_refusal(err: CodecError, index: int) -> Refused:
    field = f"payloads.{index}.metadata.encryption-key-id"
    if isinstance(err, UnknownKeyError):
        return Refused("bad_input", f"{field}: {err}", field=field)
    return Refused("bad_input", f"payloads.{index}: {err}", field=f"payloads.{index}")


def codec_router(settings: Settings) -> APIRouter:
    """The codec server's routes (kept out of the OpenAPI document: Temporal's contract).

    Raises:
        KeyConfigError: No codec key is configured (the service could not decode anything).
        InputError: ``CAREFLOW_UI_ORIGIN`` is not an origin.
    """
    allowed = ui_origin(settings)
    codec = data_converter(settings).payload_codec
    assert isinstance(codec, EncryptionCodec)
    namespace = settings.temporal_namespace
    router = APIRouter(include_in_schema=False)

    async def handle(request: Request, operation: str) -> Response:
        cors = _cors_headers(request, allowed)
        found = services(request)
        try:
            caller = optional_caller(request)  # a bad token is refused (and audited) here
        except Refused as refusal:
            return _with(refusal_problem(request, refusal), cors)
        attempt = attempt_for(request, None if caller is None else caller.principal, "api")
        audited = Audited(found.engine, attempt, f"codec.{operation}")
        asked = request.headers.get(NAMESPACE_HEADER) or namespace
        try:
            with audited.checks():
                audited.target = _target(request, asked)
                principal = audited.principal
                if asked != namespace:
                    raise Refused(
                        "out_of_scope",
                        f"此服务只解密命名空间 {namespace} this codec serves namespace "
                        f"{namespace!r} only, not {asked!r}",
                        field=NAMESPACE_HEADER,
                    )
                if not _may_decode(principal):
                    raise Refused(
                        "wrong_role",
                        "只有市级审计或区民政账号可解密 only an auditor or district admin "
                        "granted city-wide (taiyuan) may decode payloads",
                    )
                payloads = _payloads(await _body(request))
                result = []
                for index, payload in enumerate(payloads):
                    try:
                        result.append(
                            codec.decode_one(payload)
                            if operation == "decode"
                            else codec.encode_one(payload)
                        )
                    except CodecError as err:
                        raise _codec_refusal(err, index) from None
            audited.accepted()
        except Refused as refusal:
            return _with(refusal_problem(request, refusal), cors)
        return JSONResponse(_wire(result), headers=cors)

    async def preflight(request: Request) -> Response:
        cors = _cors_headers(request, allowed)
        wanted = request.headers.get("access-control-request-method", "").upper()
        if "Access-Control-Allow-Origin" not in cors or wanted != "POST":
            # Not the UI: no CORS headers, so the browser sends nothing after this.
            return Response(status_code=403, headers={"Vary": "Origin"})
        return Response(
            status_code=204,
            headers={
                **cors,
                "Access-Control-Allow-Methods": "POST",
                "Access-Control-Allow-Headers": _ALLOWED_HEADERS,
                "Access-Control-Max-Age": "600",
            },
        )

    async def decode(request: Request) -> Response:
        return await handle(request, "decode")

    async def encode(request: Request) -> Response:
        return await handle(request, "encode")

    router.add_api_route("/codec/decode", decode, methods=["POST"], name="codec.decode")
    router.add_api_route("/codec/encode", encode, methods=["POST"], name="codec.encode")
    for path in ("/codec/decode", "/codec/encode"):
        router.add_api_route(path, preflight, methods=["OPTIONS"], name="codec.preflight")
    return router


def _with(response: Response, headers: Mapping[str, str]) -> Response:
    response.headers.update(headers)
    return response


def install_codec(app: FastAPI, settings: Settings) -> None:
    """Add the codec server to the staff service ``app``."""
    app.include_router(codec_router(settings))
