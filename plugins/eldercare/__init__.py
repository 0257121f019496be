"""The eldercare service module: the city-wide processes for elders.

Each process lives in its own subpackage exporting a ``part`` (its process spec, routes,
schedules, workflows and activities); this module assembles them into the plugin registered
through the ``careflow.plugins`` entry point.
"""

from __future__ import annotations

from careflow.contract import CarePlugin, PluginPart
from plugins.eldercare import curtain, festival, green_channel, health, pension, tiers

__all__ = ["PARTS", "plugin"]

PARTS: tuple[PluginPart, ...] = (
    green_channel.part,
    curtain.part,
    tiers.part,
    health.part,
    pension.part,
    festival.part,
)

plugin = CarePlugin.assemble(
    name="eldercare",
    version="0.1.0",
    title_zh="养老服务",
    title_en="Eldercare",
    order=10,
    parts=PARTS,
)
