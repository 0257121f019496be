"""The plugin contract: what a careflow plugin declares.

A plugin is one :class:`CarePlugin` object exposed through the ``careflow.plugins`` entry-point
group. The built-in engine and service modules register exactly like a district's or a third
party's plugin. Everything declared here is validated by :mod:`careflow.registry` before a
worker or the CLI starts.
"""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import temporalio.plugin
from pydantic import BaseModel, Field

from careflow.figures.model import FigureSpec
from careflow.forms import form_ref
from careflow.inputs import AreaCode, CaseRef, Code, ExternalModel
from careflow.plan import EscalationLevel, PlanStep, StepKind, TaskTemplate
from careflow.roles import RoleSpec
from careflow.sandbox import passing_through

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine
    from sqlmodel import Session

    from careflow.notify import NotificationAdapter
    from careflow.registry import PluginRegistry
    from careflow.settings import Settings
    from careflow.task_context import ContextView

__all__ = [
    "ActivityDeps",
    "ActivitySet",
    "ActivityStep",
    "CareEvent",
    "CarePlugin",
    "ChildProcessStep",
    "DistrictProgramme",
    "EventRoute",
    "HumanTaskStep",
    "PluginPart",
    "ProcessSpec",
    "RoleSpec",
    "ScheduleSpec",
    "StateCheck",
    "StepSpec",
    "TaskType",
    "WaitStep",
    "activity_names",
]


@dataclass(frozen=True, slots=True)
class ActivityDeps:
    """What activity classes receive when a worker builds them."""

    engine: Engine
    settings: Settings
    notifications: NotificationAdapter
    registry: PluginRegistry


@dataclass(frozen=True, kw_only=True, slots=True)
class ActivitySet:
    """A class of activities and how to build it from the worker's dependencies.

    The class's methods carry ``@activity.defn``; their names are known without building it, so
    plans can be validated before any database exists.
    """

    cls: type
    build: Callable[[ActivityDeps], object]

    def names(self) -> list[str]:
        """The registered activity names of the class."""
        return activity_names(self.cls)

    def instantiate(self, deps: ActivityDeps) -> list[Callable[..., Any]]:
        """Build the class and return its bound activity methods."""
        instance = self.build(deps)
        return [
            getattr(instance, attr)
            for attr, fn in inspect.getmembers(self.cls, inspect.isfunction)
            if hasattr(fn, "__temporal_activity_definition")
        ]


def activity_names(cls: type) -> list[str]:
    """Activity names declared by the ``@activity.defn`` methods of ``cls``."""
    return [
        fn.__temporal_activity_definition.name
        for _, fn in inspect.getmembers(cls, inspect.isfunction)
        if hasattr(fn, "__temporal_activity_definition")
    ]


StateCheck = Callable[["Session", str, Any], None]
"""Checks a validated request or event against the app database before anything is sent.

Called as ``check(session, district, payload)``; raises ``careflow.errors.InputError`` naming
the payload's field (``pledge_ref``, ``booking_ref`` …) when what the database holds refuses
it: a pledge for a campaign whose list is not published, a hand-over to someone who is not an
authorised guardian. Registry ids marked with ``careflow.inputs.RegistryRef`` are checked by
the service itself; a check covers what only the process's own tables know.
"""


@dataclass(frozen=True, kw_only=True)
class ProcessSpec:
    """A process a plugin defines for the whole city.

    Attributes:
        id: Stable process id, used in plans, workflow ids and search attributes.
        module: Service module (``shared``, ``eldercare``, ``childcare`` …), for ``CareModule``.
        workflow: The ``@workflow.defn`` class whose run method takes
            ``ProcessInput[request_model]``.
        request_model: What a staff action, event or schedule supplies to start it.
        params_model: Parameters a district may set; every field must have a default.
        extension_points: Named points where plugins may add steps.
        default_enabled: Whether districts without a programme for it run it.
        long_lived: Continues as new to keep its history small.
        check: Refuses a start the app database does not support (see ``StateCheck``).
        status_refs: Keys of its case records (``record(key, kind, data)``) whose latest values
            ``careflow status`` shows: the ids the process creates that staff or partners
            need to send its events (e.g. the hospital's ``booking_ref``). The case ref and
            district are always shown.
        start_roles: Roles whose grant over the district (or the community) lets them start
            it from the console, API or CLI; schedules and events start it regardless.
    """

    id: str
    module: str
    title_zh: str
    title_en: str
    workflow: type
    request_model: type[BaseModel]
    params_model: type[BaseModel]
    extension_points: tuple[str, ...] = ()
    default_enabled: bool = True
    long_lived: bool = False
    check: StateCheck | None = None
    status_refs: tuple[str, ...] = ()
    start_roles: tuple[str, ...] = ("community_staff", "district_admin")

    @property
    def workflow_type(self) -> str:
        """The Temporal workflow type name of the process."""
        defn = getattr(self.workflow, "__temporal_workflow_definition", None)
        return defn.name if defn is not None and defn.name else self.workflow.__name__


@dataclass(frozen=True, kw_only=True)
class StepSpec(ABC):
    """A step a plugin adds at an extension point of a process.

    Attributes:
        key: Unique within the process; the idempotency key of what the step writes.
        process: The process id.
        point: The extension point name.
        districts: Districts where the step applies; empty means every district.
        summary_zh: What the Temporal UI shows for the step.
    """

    key: str
    process: str
    point: str
    summary_zh: str
    districts: frozenset[str] = frozenset()

    def applies_to(self, district: str) -> bool:
        """Whether the step runs for processes of ``district``."""
        return not self.districts or district in self.districts

    @abstractmethod
    def to_plan_step(self, *, plugin: str, version: str) -> PlanStep:
        """The frozen form of the step in a plan."""


@dataclass(frozen=True, kw_only=True)
class ActivityStep(StepSpec):
    """Run a registered activity by name; it receives ``StepInput`` and returns ``StepOutput``."""

    activity: str
    timeout: timedelta = timedelta(minutes=1)

    def to_plan_step(self, *, plugin: str, version: str) -> PlanStep:
        return PlanStep(
            key=self.key,
            plugin=plugin,
            plugin_version=version,
            point=self.point,
            kind=StepKind.ACTIVITY,
            summary_zh=self.summary_zh,
            activity=self.activity,
            timeout=self.timeout,
        )


@dataclass(frozen=True, kw_only=True)
class HumanTaskStep(StepSpec):
    """Open a human task (工单) and wait for staff to complete it."""

    role: str
    title_zh: str
    title_en: str
    form: type[BaseModel]
    due: timedelta
    escalation: tuple[EscalationLevel, ...] = ()

    def template(self) -> TaskTemplate:
        """The task as plans and processes carry it."""
        return TaskTemplate(
            role=self.role,
            title_zh=self.title_zh,
            title_en=self.title_en,
            form_ref=form_ref(self.form),
            due=self.due,
            escalation=list(self.escalation),
        )

    def to_plan_step(self, *, plugin: str, version: str) -> PlanStep:
        return PlanStep(
            key=self.key,
            plugin=plugin,
            plugin_version=version,
            point=self.point,
            kind=StepKind.HUMAN_TASK,
            summary_zh=self.summary_zh,
            task=self.template(),
        )


@dataclass(frozen=True, kw_only=True)
class ChildProcessStep(StepSpec):
    """Run another process as a child and wait for it to finish."""

    child_process: str
    request: Mapping[str, Any] = field(default_factory=dict)

    def to_plan_step(self, *, plugin: str, version: str) -> PlanStep:
        return PlanStep(
            key=self.key,
            plugin=plugin,
            plugin_version=version,
            point=self.point,
            kind=StepKind.CHILD_PROCESS,
            summary_zh=self.summary_zh,
            child_process=self.child_process,
            child_request=dict(self.request),
        )


@dataclass(frozen=True, kw_only=True)
class WaitStep(StepSpec):
    """Wait for a fixed time (a durable timer with a summary)."""

    duration: timedelta

    def to_plan_step(self, *, plugin: str, version: str) -> PlanStep:
        return PlanStep(
            key=self.key,
            plugin=plugin,
            plugin_version=version,
            point=self.point,
            kind=StepKind.WAIT,
            summary_zh=self.summary_zh,
            wait=self.duration,
        )


class CareEvent(ExternalModel):
    """Base of every device or partner event: where it belongs and which case it moves.

    ``case_ref`` is an opaque reference (a registry id or a case number), never a name. Unknown
    fields are refused; the community must be one of the event's district.
    """

    district: Code
    community: AreaCode | None = None
    case_ref: CaseRef
    sent_by: Code | None = Field(
        default=None,
        description="Set by careflow: the account (person or partner system) that sent it; "
        "a payload that sets it is refused.",
    )
    request_id: Code | None = Field(
        default=None, description="Set by careflow: the request id of its audit row."
    )


@dataclass(frozen=True, kw_only=True)
class EventRoute:
    """Where an event of one type goes.

    Attributes:
        event_type: The name callers use (``careflow event TYPE``).
        model: The ``CareEvent`` subclass the payload must validate against.
        process: The process whose workflow receives it.
        signal: The workflow signal that receives the validated event.
        start_if_absent: Start the process (signal-with-start) if it is not running.
        to_request: Builds the process request from the event when starting.
        workflow_id: Picks the receiving workflow from the event, when it is not
            ``<process>-<district>-<case key of case_ref>``: e.g. a batch workflow that
            holds the tasks of many cases. A function of the event, run by the service (which
            may key a case with ``careflow.privacy.pseudonyms``); the workflow it names must
            have ``signal``. Not allowed with ``start_if_absent``.
        check: Refuses an event the app database shows the process would refuse or ignore
            (see ``StateCheck``), so the sender learns it at once instead of the event being
            dropped inside the process.
        sender_roles: Roles whose grant over the event's district (or community) lets a
            person send it; a partner system sends it with an API token whose scope names the
            event type and the district.
    """

    event_type: str
    model: type[CareEvent]
    process: str
    signal: str
    start_if_absent: bool = False
    to_request: Callable[[Any], BaseModel] | None = None
    workflow_id: Callable[[Any], str] | None = None
    check: StateCheck | None = None
    sender_roles: tuple[str, ...] = ("community_staff", "district_admin")


@dataclass(frozen=True, kw_only=True)
class ScheduleSpec:
    """A Temporal Schedule that starts a process in each district where it is enabled.

    Attributes:
        id: Unique schedule id; one Temporal Schedule per district is named ``<id>.<district>``.
        process: The process to start.
        crons: Cron expressions, interpreted in ``time_zone``.
        request: The process request, validated against its request model at load.
        districts: Limit to these districts; empty means wherever the process is enabled.
        time_param: A field of the process's params (``"HH:MM"``) that sets the hour and
            minute of every cron per district, so a district can move its round.
    """

    id: str
    process: str
    title_zh: str
    crons: tuple[str, ...]
    request: Mapping[str, Any] = field(default_factory=dict)
    districts: frozenset[str] = frozenset()
    time_zone: str = "Asia/Shanghai"
    time_param: str | None = None

    def crons_for(self, params: Mapping[str, Any]) -> list[str]:
        """The cron expressions for a district whose process params are ``params``."""
        if self.time_param is None:
            return list(self.crons)
        hour, minute = str(params[self.time_param]).split(":")[:2]
        return [f"{int(minute)} {int(hour)} {cron.split(maxsplit=2)[2]}" for cron in self.crons]


@dataclass(frozen=True, kw_only=True)
class DistrictProgramme:
    """What a district switches on, off and sets."""

    district: str
    enable: frozenset[str] = frozenset()
    disable: frozenset[str] = frozenset()
    params: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class TaskType:
    """A kind of human task a plugin opens: its form and what the task shows staff.

    Every form a process opens a task with must be known to the registry: the forms of
    :class:`HumanTaskStep` are known through the steps; a process that opens tasks in its own
    code (``form_ref(DropoffForm)``) declares them here. Clients and workers resolve a task
    row's ``form_ref`` only among these, never by importing the module it names.

    Attributes:
        form: The pydantic model the task's data must validate against.
        context: Reads from the app database what a person needs to act on the task (the
            items of a drop-off, the child of a late pickup), when the task is shown; see
            :mod:`careflow.task_context`. ``None`` shows nothing beyond title and form.
        title_zh: What staff call this kind of task, for listings.
        title_en: The same in English.
        aliases: References the form was stored under before its class moved
            (``'workflows.delivery:DropoffForm'``): task rows and recorded histories keep
            them, so they resolve to this task type too.
    """

    form: type[BaseModel]
    context: ContextView | None = None
    title_zh: str = ""
    title_en: str = ""
    aliases: Sequence[str] = ()

    @property
    def form_ref(self) -> str:
        """The reference task rows and plans store for the form."""
        return form_ref(self.form)


@dataclass(frozen=True, kw_only=True)
class PluginPart:
    """What one unit of a plugin (one process and its helpers) contributes.

    A service module keeps each process in a subpackage exporting a ``part``; the module's
    ``__init__`` assembles them with :meth:`CarePlugin.assemble`.
    """

    processes: Sequence[ProcessSpec] = ()
    steps: Sequence[StepSpec] = ()
    routes: Sequence[EventRoute] = ()
    schedules: Sequence[ScheduleSpec] = ()
    programmes: Sequence[DistrictProgramme] = ()
    workflows: Sequence[type] = ()
    activities: Sequence[ActivitySet] = ()
    task_types: Sequence[TaskType] = ()
    roles: Sequence[RoleSpec] = ()
    migrations: Path | str | None = None
    """The unit's alembic versions folder (see :attr:`CarePlugin.migrations`)."""
    figures: Sequence[FigureSpec] = ()
    """The unit's sections of the district report (see :attr:`CarePlugin.figures`)."""


@dataclass(frozen=True, kw_only=True)
class CarePlugin:
    """One careflow plugin.

    Attributes:
        name: Unique plugin name.
        version: The plugin's version, recorded in every plan it contributes to.
        order: Plugins contribute steps in (order, name) order: engine 0, service modules 10,
            districts 50 by convention.
        workflows: Workflow classes beyond those of the processes (e.g. launchers).
        activities: Activity classes with how to build them.
        task_types: Forms of tasks its processes open in their own code, and the context
            view of each task type (including those of its steps' forms).
        roles: Roles it declares (``careflow.roles``); every role its steps, processes and
            routes name must be declared by a loaded plugin.
        migrations: The absolute path of its alembic versions folder (or, for a plugin
            assembled from parts, one per part that owns tables): revision files whose base
            revision revises the core's ``"0001"``, each folder on a branch label of its own
            (``branch_labels = ("acme_visits",)``), revision ids unique among all plugins.
            ``careflow migrate`` runs them beside the core's; a plugin that is uninstalled
            later keeps its tables (``docs/ARCHITECTURE.md``, "Removing or upgrading a module
            with tables").
        figures: Sections it adds to every district's report (``careflow.figures``): the
            dashboard, the exports and the weekly report show them. Keys unique.
        sandbox_passthrough: Pure modules (and packages) its workflows import, shared with
            the workflow sandbox instead of re-imported for every process
            (:mod:`careflow.sandbox` says what pure means). Typically the package holding its
            workflows and models; careflow's own ``plugins`` package needs none.
    """

    name: str
    version: str
    title_zh: str
    title_en: str
    order: int = 100
    processes: Sequence[ProcessSpec] = ()
    steps: Sequence[StepSpec] = ()
    routes: Sequence[EventRoute] = ()
    schedules: Sequence[ScheduleSpec] = ()
    programmes: Sequence[DistrictProgramme] = ()
    workflows: Sequence[type] = ()
    activities: Sequence[ActivitySet] = ()
    task_types: Sequence[TaskType] = ()
    roles: Sequence[RoleSpec] = ()
    migrations: Path | str | Sequence[Path | str] | None = None
    figures: Sequence[FigureSpec] = ()
    sandbox_passthrough: Sequence[str] = ()

    @classmethod
    def assemble(
        cls,
        *,
        name: str,
        version: str,
        title_zh: str,
        title_en: str,
        order: int = 100,
        parts: Sequence[PluginPart],
    ) -> CarePlugin:
        """One plugin from the parts of its units, in order."""
        return cls(
            name=name,
            version=version,
            title_zh=title_zh,
            title_en=title_en,
            order=order,
            processes=tuple(x for p in parts for x in p.processes),
            steps=tuple(x for p in parts for x in p.steps),
            routes=tuple(x for p in parts for x in p.routes),
            schedules=tuple(x for p in parts for x in p.schedules),
            programmes=tuple(x for p in parts for x in p.programmes),
            workflows=tuple(x for p in parts for x in p.workflows),
            activities=tuple(x for p in parts for x in p.activities),
            task_types=tuple(x for p in parts for x in p.task_types),
            roles=tuple(x for p in parts for x in p.roles),
            migrations=tuple(p.migrations for p in parts if p.migrations is not None),
            figures=tuple(x for p in parts for x in p.figures),
        )

    def migration_folders(self) -> tuple[Path, ...]:
        """The alembic versions folders this plugin declares, in declaration order."""
        declared = self.migrations
        if declared is None:
            return ()
        if isinstance(declared, str | Path):
            return (Path(declared),)
        return tuple(Path(folder) for folder in declared)

    def all_workflows(self) -> list[type]:
        """Every workflow class this plugin registers."""
        found = [spec.workflow for spec in self.processes]
        return found + [w for w in self.workflows if w not in found]

    def activity_names(self) -> list[str]:
        """Every activity name this plugin registers."""
        return [name for aset in self.activities for name in aset.names()]

    def temporal_plugin(self, deps: ActivityDeps) -> temporalio.plugin.SimplePlugin:
        """This plugin as a Temporal worker plugin, with activities built from ``deps``."""
        built = [fn for aset in self.activities for fn in aset.instantiate(deps)]
        return temporalio.plugin.SimplePlugin(
            f"careflow.{self.name}",
            workflows=self.all_workflows(),
            activities=built,
            workflow_runner=(
                passing_through(*self.sandbox_passthrough) if self.sandbox_passthrough else None
            ),
        )
