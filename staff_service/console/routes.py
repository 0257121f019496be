"""The console's router and how an app mounts it (pages plus ``/static``)."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles

from staff_service.console import audit, auth, consent, dashboard, processes, tasks
from staff_service.console.render import STATIC_DIR

__all__ = ["STATIC_PATH", "console_router", "mount_console"]

STATIC_PATH = "/static"


def console_router() -> APIRouter:
    """Every console page: login, inbox, task, start, process, cases, audit, logout."""
    router = APIRouter(include_in_schema=False)
    for part in (auth, tasks, processes, audit, consent, dashboard):
        router.include_router(part.router)
    return router


def mount_console(app: FastAPI) -> None:
    """Add the console pages and its static files (``/static``) to ``app``."""
    app.include_router(console_router())
    app.mount(STATIC_PATH, StaticFiles(directory=STATIC_DIR), name="console-static")
