"""The root span of every staff-service request: the API call a staff action's trace starts at.

Plain ASGI like :mod:`staff_service.middleware`, and outermost, so the span is current while the
route runs: the client's ``StartWorkflowUpdate`` span of a task completion is its child. When the
process does not trace (:func:`careflow.tracing.active`) a request passes straight through.

The span is named after the route's template, ``careflow.api POST
/api/v1/tasks/{task_id}/complete``, never the path with its values, and carries the method, the
template, the route's action name (``task.complete``), the status code and the request id (the
one the audit rows and log lines carry).
"""

from __future__ import annotations

from fastapi.routing import iter_route_contexts
from opentelemetry.trace import Status, StatusCode
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from careflow import tracing

__all__ = ["SPAN_PREFIX", "TracingMiddleware"]

SPAN_PREFIX = "careflow.api"


class TracingMiddleware:
    """Make each HTTP request the root span of what it causes."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._templates: dict[str, str] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not tracing.active():
            await self.app(scope, receive, send)
            return
        method = str(scope.get("method", ""))
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        # Named for the method until routing has chosen the route; renamed once it ends.
        with tracing.root_span(
            f"{SPAN_PREFIX} {method}", attributes={"http.request.method": method}
        ) as span:
            try:
                await self.app(scope, receive, send_status)
            finally:
                if span is not None:
                    route = scope.get("route")
                    template = self._template(scope, route)
                    span.update_name(f"{SPAN_PREFIX} {method} {template}")
                    span.set_attribute("http.route", template)
                    span.set_attribute("http.response.status_code", status)
                    action = getattr(route, "name", None)
                    if action:
                        span.set_attribute("careflow.action", str(action))
                    request_id = scope.get("state", {}).get("request_id")
                    if request_id:
                        span.set_attribute("careflow.request_id", str(request_id))
                    if status >= 500:
                        span.set_status(Status(StatusCode.ERROR, f"HTTP {status}"))

    def _template(self, scope: Scope, route: object) -> str:
        """The matched route's whole template (``/api/v1/tasks/{task_id}/complete``).

        FastAPI keeps included routers apart, so a route's own ``path`` lacks its routers'
        prefixes; the app's route contexts have the whole one, by the route's name (names are
        the operation ids, unique in the app). A route inside a mount gets the mount's prefix.
        """
        if self._templates is None:
            routes = getattr(scope.get("app"), "routes", None) or []
            self._templates = {
                context.name: context.path_format
                for context in iter_route_contexts(routes)
                if context.name and context.path_format
            }
        name = getattr(route, "name", None)
        if isinstance(name, str) and name in self._templates:
            return self._templates[name]
        path = getattr(route, "path", None)
        if not isinstance(path, str):
            return "(unmatched)"
        # Routing mutates the scope in place: root_path has grown by every mount passed.
        root, app_root = str(scope.get("root_path", "")), str(scope.get("app_root_path", ""))
        prefix = root[len(app_root) :] if root.startswith(app_root) else root
        return f"{prefix.rstrip('/')}{path}"
