"""Which running processes depend on which plugin versions (``careflow plugins check``)."""

from __future__ import annotations

from pydantic import BaseModel
from temporalio.client import Client

from careflow.registry import PluginRegistry

__all__ = ["PluginDependency", "missing_plugins", "plugin_dependencies"]


class PluginDependency(BaseModel):
    """Running processes whose frozen plan names one plugin version."""

    plugin: str
    plan_version: str
    installed_version: str | None
    workflow_ids: list[str]

    @property
    def missing(self) -> bool:
        """The plugin is not installed here: its steps in these plans cannot run."""
        return self.installed_version is None


async def plugin_dependencies(client: Client, registry: PluginRegistry) -> list[PluginDependency]:
    """Which running processes depend on which plugin versions, from their plan memos."""
    found: dict[tuple[str, str], list[str]] = {}
    async for execution in client.list_workflows('ExecutionStatus = "Running"'):
        memo = await execution.memo()
        plugins = memo.get("plan_plugins")
        if not isinstance(plugins, dict):
            continue
        for name, version in plugins.items():
            found.setdefault((str(name), str(version)), []).append(execution.id)
    installed = {plugin.name: plugin.version for plugin in registry.plugins}
    return [
        PluginDependency(
            plugin=name,
            plan_version=version,
            installed_version=installed.get(name),
            workflow_ids=sorted(ids),
        )
        for (name, version), ids in sorted(found.items())
    ]


async def missing_plugins(
    client: Client, registry: PluginRegistry, *, allowed: frozenset[str] = frozenset()
) -> list[PluginDependency]:
    """Dependencies of running processes on plugins not installed (and not ``allowed``)."""
    return [
        dep
        for dep in await plugin_dependencies(client, registry)
        if dep.missing and dep.plugin not in allowed
    ]
