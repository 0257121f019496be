"""The staff service as one FastAPI app: the HTTP API, the console and the API reference.

``create_app`` builds everything from what it is given; nothing happens at import time and
nothing is global, so a test builds as many apps as it likes against its own database and
Temporal test server. The app holds its objects on ``app.state.services``
(:class:`staff_service.services.Services`).

What every response gets (:class:`staff_service.middleware.RequestContextMiddleware`): an
``X-Request-ID``, ``Cache-Control: no-store`` (but ``/static/``), ``X-Content-Type-Options:
nosniff``, ``X-Frame-Options: DENY`` and the Content-Security-Policy
:data:`~staff_service.middleware.CONTENT_SECURITY_POLICY`: only this origin, no inline script
or style, no framing. Every error is ``application/problem+json``
(:mod:`staff_service.problems`). When the process traces, each request is a root span
(:class:`staff_service.tracing.TracingMiddleware`).

The console (``staff_service.console``) is added by its ``mount_console(app)``.
The codec server (:mod:`staff_service.codec`) answers the Temporal Web UI at ``/codec``.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from sqlalchemy.engine import Engine
from temporalio.client import Client

from careflow.registry import PluginRegistry
from careflow.settings import Settings
from staff_service.api import api_router
from staff_service.api import docs as docs_page
from staff_service.codec import install_codec
from staff_service.middleware import RequestContextMiddleware
from staff_service.problems import Problem, install_problem_handlers
from staff_service.services import ClientFactory, Services, TemporalConnection
from staff_service.tracing import TracingMiddleware

__all__ = ["CONSOLE_MODULE", "create_app"]

CONSOLE_MODULE = "staff_service.console"
"""The console package; its ``mount_console(app)`` adds the pages and static files."""

_DESCRIPTION = (
    "careflow 社区服务工作人员接口 · the staff API of careflow. Log in with "
    "`POST /api/v1/session` (a cookie, plus `X-CSRF-Token` on POST and DELETE) or send an API "
    "token as `Authorization: Bearer cft_…`. Every attempt, accepted or refused, is audited. "
    "Errors are `application/problem+json` naming the rule (`reason`) and the field."
)


def create_app(
    *,
    settings: Settings,
    registry: PluginRegistry,
    engine: Engine,
    client: Client | None = None,
    client_factory: ClientFactory | None = None,
    console: bool = True,
) -> FastAPI:
    """Build the staff service.

    Args:
        settings: The careflow settings (task queue, cookie security, reply deadline).
        registry: The loaded plugins.
        engine: The app database (migrated).
        client: A Temporal client to use as is (tests); else one is made on first use.
        client_factory: Makes the Temporal client when ``client`` is None
            (``lambda: careflow.temporal.connect(settings, lazy=True)``); with neither, every
            route that needs Temporal answers 503.
        console: Add the console pages (when the console package is there).
    """
    app = FastAPI(
        title="careflow staff service 工作人员服务",
        version="1",
        description=_DESCRIPTION,
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
        generate_unique_id_function=_operation_id,
        # FastAPI's own spans would carry the concrete path and query (a registry id, a
        # search) and its logs exception messages: the request's span is careflow's own
        # (staff_service.tracing), with the route's template only.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.services = Services(
        settings=settings,
        registry=registry,
        engine=engine,
        temporal=TemporalConnection(client=client, factory=client_factory),
    )
    app.add_middleware(RequestContextMiddleware)
    # Added last, so outermost: the request's root span is current for everything inside.
    app.add_middleware(TracingMiddleware)
    install_problem_handlers(app)
    app.include_router(api_router())
    install_codec(app, settings)  # /codec/decode, /codec/encode for the Temporal Web UI
    app.include_router(docs_page.router)
    if console and importlib.util.find_spec(CONSOLE_MODULE) is not None:
        module: Any = importlib.import_module(CONSOLE_MODULE)
        module.mount_console(app)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _operation_id(route: APIRoute) -> str:
    """Operation ids are the routes' action names (``task.complete``), stable for clients."""
    return route.name


def _openapi(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI document, with the problem schema and without FastAPI's own 422 body.

    Every 422 is a problem (:class:`~staff_service.problems.Problem`); FastAPI would document
    its ``HTTPValidationError`` there, which this service never sends.
    """
    if app.openapi_schema:
        return app.openapi_schema
    document = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
    )
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    own = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(own.pop("$defs", {}))
    schemas["Problem"] = own
    problem = {"schema": {"$ref": "#/components/schemas/Problem"}}
    for item in document.get("paths", {}).values():
        for op in item.values():
            responses = op.get("responses", {})
            for status, answer in responses.items():
                if str(status).startswith(("4", "5")):
                    answer["content"] = {"application/problem+json": problem}
            if "422" in responses:
                responses["422"]["description"] = "输入有误 form or request does not validate"
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    app.openapi_schema = document
    return document
