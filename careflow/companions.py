"""Services that run beside the worker (the staff service), found through entry points.

The core never imports the layers above it. A service of the composition layer registers a
runner under the entry-point group ``careflow.services`` (careflow's own staff service is
``staff = "staff_service.server:run_staff_service"``), and ``careflow dev`` / ``careflow
serve`` run what is registered, exactly as plugins are found under ``careflow.plugins``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from importlib.metadata import entry_points
from typing import Any, Protocol

from temporalio.client import Client

from careflow.errors import PluginError
from careflow.registry import PluginRegistry
from careflow.settings import Settings

__all__ = ["SERVICES_GROUP", "ServiceRunner", "load_service"]

SERVICES_GROUP = "careflow.services"


class ServiceRunner(Protocol):
    """Runs one service until ``stop`` is set; calls ``on_ready`` with its URL once it serves."""

    def __call__(
        self,
        settings: Settings,
        registry: PluginRegistry,
        *,
        stop: asyncio.Event,
        client: Client | None = None,
        on_ready: Callable[[str], None] | None = None,
    ) -> Coroutine[Any, Any, None]: ...


def load_service(name: str) -> ServiceRunner:
    """The runner registered as ``name`` in :data:`SERVICES_GROUP`.

    Raises:
        PluginError: Nothing is registered under ``name``, or it cannot be loaded.
    """
    found = [ep for ep in entry_points(group=SERVICES_GROUP) if ep.name == name]
    if not found:
        raise PluginError(name, f"no service {name!r} is installed (entry points {SERVICES_GROUP})")
    try:
        runner = found[0].load()
    except Exception as err:  # an installed service that cannot import: name it, stop
        raise PluginError(name, f"service cannot be loaded: {err}") from err
    if not callable(runner):
        raise PluginError(name, "service entry point is not callable")
    return runner  # type: ignore[no-any-return]
