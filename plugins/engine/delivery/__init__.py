"""The shared Delivery process 物资配送: goods from a donor or the community to a recipient.

drop-off recorded at the community → hand-over task for a grid worker or volunteer, with a
signed receipt → confirmation recorded → thank-you to the donor. A late hand-over escalates to
community staff, then to the district admin; past the last deadline the fallback records the
failure and tells the district. Micro-wishes and festival gifts both run through it.

A drop-off recorded as not received ends the delivery as ``never_dropped_off``: no hand-over
task opens for goods that are not there; the case record says so and the donor and the
district admin are told.

Refusals 拒绝规则: the recipient and the donor must be in the registry (``RegistryRef``; a
donor may belong to any district, the recipient to the delivery's), so a delivery to an
unknown id is refused at the start with exit 2 and nothing is started.

Public contract (what other plugins use): the process id ``DELIVERY_PROCESS``, its request
(``DeliveryRequest``, ``DeliveryItem``, ``MAX_DELIVERY_ITEMS``) and result
(``DeliveryResult``, ``DeliveryOutcome``), the forms of its tasks, the scanner's
``DropoffEvent`` and the ``part`` the engine plugin registers.
"""

from __future__ import annotations

from careflow.contract import EventRoute, PluginPart, ProcessSpec, TaskType
from plugins.engine.delivery.forms import FORM_ALIASES, DropoffForm, HandoverForm
from plugins.engine.delivery.models import (
    DELIVERY_POINTS,
    DELIVERY_PROCESS,
    MAX_DELIVERY_ITEMS,
    REQUEST_RECORD_KIND,
    DeliveryItem,
    DeliveryOutcome,
    DeliveryParams,
    DeliveryRequest,
    DeliveryResult,
    DropoffEvent,
)
from plugins.engine.delivery.views import CATEGORY_TITLES, dropoff_context, handover_context
from plugins.engine.delivery.workflows import DeliveryWorkflow

__all__ = [
    "CATEGORY_TITLES",
    "DELIVERY",
    "DELIVERY_POINTS",
    "DELIVERY_PROCESS",
    "MAX_DELIVERY_ITEMS",
    "REQUEST_RECORD_KIND",
    "DeliveryItem",
    "DeliveryOutcome",
    "DeliveryParams",
    "DeliveryRequest",
    "DeliveryResult",
    "DeliveryWorkflow",
    "DropoffEvent",
    "DropoffForm",
    "HandoverForm",
    "part",
]

DELIVERY = ProcessSpec(
    id=DELIVERY_PROCESS,
    module="shared",
    title_zh="物资配送",
    title_en="Delivery of goods",
    workflow=DeliveryWorkflow,
    request_model=DeliveryRequest,
    params_model=DeliveryParams,
    extension_points=DELIVERY_POINTS,
)

part = PluginPart(
    processes=(DELIVERY,),
    routes=(
        EventRoute(
            event_type="delivery.dropoff",
            model=DropoffEvent,
            process=DELIVERY_PROCESS,
            signal="dropoff_recorded",
        ),
    ),
    task_types=(
        TaskType(
            form=DropoffForm,
            context=dropoff_context,
            title_zh="物资送达",
            title_en="Drop-off",
            aliases=FORM_ALIASES[DropoffForm],
        ),
        TaskType(
            form=HandoverForm,
            context=handover_context,
            title_zh="入户交接",
            title_en="Hand-over",
            aliases=FORM_ALIASES[HandoverForm],
        ),
    ),
)
