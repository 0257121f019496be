"""The HTTP API ``/api/v1``: routers over :mod:`careflow.access.actions`, nothing more.

Every route authenticates through :mod:`staff_service.deps`, calls one action (which checks
the caller's grants and writes the audit row) and answers with a typed model; every error is
a problem (:mod:`staff_service.problems`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from staff_service.api import audit, consent, events, processes, reports, session, tasks
from staff_service.api.models import Health
from staff_service.deps import services
from staff_service.services import Services

__all__ = ["API_PREFIX", "api_router"]

API_PREFIX = "/api/v1"


def _health(found: Annotated[Services, Depends(services)]) -> Health:
    """Whether the service runs (for a reverse proxy's health check); needs no login."""
    return Health(status="ok", temporal_client=found.temporal.connected)


def api_router() -> APIRouter:
    """A fresh router with every API route under :data:`API_PREFIX`."""
    router = APIRouter(prefix=API_PREFIX)
    router.add_api_route(
        "/health",
        _health,
        methods=["GET"],
        response_model=Health,
        tags=["service 服务"],
        summary="健康检查 health",
    )
    for module in (session, tasks, processes, events, audit, consent, reports):
        router.include_router(module.router)
    return router
