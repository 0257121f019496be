"""The childcare service module: the city-wide processes for children.

Each process lives in its own subpackage exporting a ``part`` (its process spec, routes,
schedules, workflows and activities); this module assembles them into the plugin registered
through the ``careflow.plugins`` entry point.
"""

from __future__ import annotations

from careflow.contract import ActivitySet, CarePlugin, PluginPart
from plugins.childcare.classroom import part as classroom_part
from plugins.childcare.consent_activities import ConsentActivities
from plugins.childcare.dining import part as dining_part
from plugins.childcare.microwish import part as microwish_part
from plugins.childcare.places import part as places_part

__all__ = ["PARTS", "consent_part", "plugin"]

consent_part = PluginPart(
    activities=(
        ActivitySet(cls=ConsentActivities, build=lambda deps: ConsentActivities(deps.engine)),
    ),
)
"""The consent check every unit runs before it uses a child's data (``consent.py``)."""

PARTS: tuple[PluginPart, ...] = (
    consent_part,
    classroom_part,
    dining_part,
    places_part,
    microwish_part,
)

plugin = CarePlugin.assemble(
    name="childcare",
    version="0.1.0",
    title_zh="儿童关爱",
    title_en="Childcare",
    order=10,
    parts=PARTS,
)
