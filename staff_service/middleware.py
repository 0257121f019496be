"""The request-id and security-header middleware every response of the staff service passes.

Plain ASGI (not ``BaseHTTPMiddleware``): it costs one dict per request, and the structlog
context it binds is seen by the route, the actions it calls and their log lines.
"""

from __future__ import annotations

import json
import time

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from careflow.access.audit import new_request_id
from staff_service.problems import PROBLEM_JSON

__all__ = ["CONTENT_SECURITY_POLICY", "REQUEST_ID_HEADER", "RequestContextMiddleware"]

log = structlog.get_logger("careflow.staff_service")

REQUEST_ID_HEADER = "X-Request-ID"

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; object-src 'none'"
)
"""No external source, no inline script or style: everything comes from this service."""

_ALWAYS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"cross-origin-opener-policy", b"same-origin"),
)
_STATIC_PREFIX = "/static/"


class RequestContextMiddleware:
    """Give every request an id and every response its security headers.

    * ``request.state.request_id`` (``scope["state"]["request_id"]``): a fresh
      :func:`~careflow.access.audit.new_request_id` per request (a caller's own id is never
      trusted), bound into structlog's context vars and returned as ``X-Request-ID``.
    * ``Cache-Control: no-store`` on everything but ``/static/``: pages and API answers hold
      personal data and must not stay in a shared cache or the browser's history.
    * One log line per request: method, route name, status and milliseconds (no values
      from the path or query: they may name a case).
    * An error no handler answered becomes a 500 problem naming only the request id; the log
      line names the exception's type, never its message (which may hold personal data).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = new_request_id()
        scope.setdefault("state", {})["request_id"] = request_id
        path: str = scope.get("path", "")
        extra: list[tuple[bytes, bytes]] = [(b"x-request-id", request_id.encode()), *_ALWAYS]
        if not path.startswith(_STATIC_PREFIX):
            extra.append((b"cache-control", b"no-store"))
        started = False
        status = 500
        began = time.perf_counter()

        async def send_with_headers(message: Message) -> None:
            nonlocal started, status
            if message["type"] == "http.response.start":
                started = True
                status = int(message["status"])
                names = {name for name, _ in extra}
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() not in names]
                message["headers"] = headers + extra
            await send(message)

        tokens = structlog.contextvars.bind_contextvars(request_id=request_id)
        try:
            await self.app(scope, receive, send_with_headers)
        except Exception as err:
            log.error("unhandled error", error=type(err).__name__, path=path)
            if started:
                raise
            await _internal_error(send_with_headers, request_id)
        finally:
            route = scope.get("route")
            # The route's name (``task.complete``), never the values in the path or query.
            log.info(
                "request",
                method=scope.get("method"),
                route=getattr(route, "name", None) or "(unmatched)",
                status=status,
                ms=round((time.perf_counter() - began) * 1000, 1),
            )
            structlog.contextvars.reset_contextvars(**tokens)


async def _internal_error(send: Send, request_id: str) -> None:
    body = json.dumps(
        {
            "type": "urn:careflow:problem:internal",
            "title": "服务内部错误 internal error",
            "status": 500,
            "detail": "服务内部错误，请稍后再试 internal error; please try again later",
            "reason": "internal",
            "field": None,
            "errors": [],
            "request_id": request_id,
        },
        ensure_ascii=False,
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 500,
            "headers": [
                (b"content-type", PROBLEM_JSON.encode()),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
