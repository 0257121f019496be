"""The engine plugin: engine activities, the shared processes and the launcher.

The shared processes live here in the shape of every other process, one package each:
``delivery`` (物资配送) and ``community_event`` (社区活动), each exporting its public contract
and the ``part`` this plugin registers.

It registers through the ``careflow.plugins`` entry point exactly like any other plugin; the
registry refuses to run processes without the engine activities it provides.
"""

from __future__ import annotations

from activities.notifications import NotificationActivities
from activities.plans import PlanActivities
from activities.records import CaseRecordActivities
from activities.tasks import TaskActivities
from careflow.contract import ActivitySet, CarePlugin
from careflow.privacy.pseudonyms import load_pseudonyms
from plugins.engine import community_event, delivery
from plugins.engine.community_event import COMMUNITY_EVENT
from plugins.engine.delivery import DELIVERY
from plugins.engine.figures import FIGURES
from plugins.engine.roles import ENGINE_ROLES, Role
from workflows.launcher import ScheduledLaunchWorkflow

__all__ = ["COMMUNITY_EVENT", "DELIVERY", "ENGINE_ROLES", "Role", "plugin"]

plugin = CarePlugin(
    name="engine",
    version="0.1.0",
    title_zh="流程引擎",
    title_en="Process engine",
    order=0,
    processes=(DELIVERY, COMMUNITY_EVENT),
    # The city-wide roles every module and district names (careflow issue 12).
    roles=ENGINE_ROLES,
    routes=(
        *delivery.part.routes,
        *community_event.part.routes,
    ),
    workflows=(ScheduledLaunchWorkflow,),
    figures=(FIGURES,),
    task_types=(
        *delivery.part.task_types,
        *community_event.part.task_types,
    ),
    activities=(
        ActivitySet(
            cls=TaskActivities,
            build=lambda deps: TaskActivities(deps.engine, registry=deps.registry),
        ),
        ActivitySet(cls=CaseRecordActivities, build=lambda deps: CaseRecordActivities(deps.engine)),
        ActivitySet(
            cls=NotificationActivities,
            build=lambda deps: NotificationActivities(deps.engine, deps.notifications),
        ),
        ActivitySet(
            cls=PlanActivities,
            # Loaded when the worker is built: a worker without the pseudonym key refuses to
            # start, instead of stalling every child start.
            build=lambda deps: PlanActivities(
                deps.registry, pseudonyms=load_pseudonyms(deps.settings)
            ),
        ),
    ),
)
