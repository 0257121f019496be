"""Discovering, validating and querying plugins; resolving the plan of a process.

Everything a plugin declares is checked here, before any worker or CLI command runs, so a
broken plugin stops start-up with one message naming the plugin and the problem.
"""

from __future__ import annotations

import difflib
import importlib.util
import json
import re
import sys
import tomllib
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from temporalio.client import ScheduleSpec as TemporalScheduleSpec

from careflow.areas import DISTRICTS
from careflow.contract import (
    ActivityStep,
    CarePlugin,
    ChildProcessStep,
    EventRoute,
    HumanTaskStep,
    ProcessSpec,
    RoleSpec,
    ScheduleSpec,
    StepSpec,
    TaskType,
    WaitStep,
)
from careflow.errors import InputError, PluginError, format_validation_error
from careflow.figures.model import FigureSpec
from careflow.forms import FormRefError, check_ref, form_ref, register_forms
from careflow.models import ActivityName
from careflow.params import unknown_keys
from careflow.plan import Plan
from careflow.roles import check_role_name, register_roles
from careflow.sandbox import MODULE_NAME

__all__ = [
    "ENTRY_POINT_GROUP",
    "PluginRegistry",
    "check_migrations",
    "discover_plugins",
    "load_overrides",
]

ENTRY_POINT_GROUP = "careflow.plugins"
ENGINE_ACTIVITIES = frozenset(name.value for name in ActivityName)


def discover_plugins(
    group: str = ENTRY_POINT_GROUP, *, only: Collection[str] | None = None
) -> list[CarePlugin]:
    """Load every plugin registered under the entry-point group.

    Args:
        group: The entry-point group.
        only: Load just these entry-point names (``CAREFLOW_PLUGINS``); the others are not
            even imported, so a plugin installed beside them changes nothing.

    Raises:
        PluginError: An entry point cannot be imported or is not a ``CarePlugin``.
    """
    plugins = []
    for ep in sorted(entry_points(group=group), key=lambda e: e.name):
        if only is not None and ep.name not in only:
            continue
        try:
            obj = ep.load()
        except Exception as err:  # any import failure is the plugin's fault
            raise PluginError(ep.name, f"cannot be loaded from {ep.value!r}: {err}") from err
        if not isinstance(obj, CarePlugin):
            raise PluginError(ep.name, f"{ep.value!r} is not a careflow CarePlugin")
        if obj.name != ep.name:
            raise PluginError(ep.name, f"entry point name differs from plugin name {obj.name!r}")
        plugins.append(obj)
    return plugins


_REVISION_LINE = re.compile(r"""^revision\s*(?::[^=\n]*)?=\s*["']([^"'\n]+)["']""", re.MULTILINE)
_CORE_VERSIONS = Path(__file__).resolve().parent / "db" / "migrations" / "versions"


def _revision_ids(folder: Path) -> list[str]:
    """The ``revision = "..."`` ids of the revision files in ``folder`` (read, not imported)."""
    found = []
    for file in sorted(folder.glob("*.py")):
        if file.name != "__init__.py":
            match = _REVISION_LINE.search(file.read_text(encoding="utf-8"))
            if match:
                found.append(match.group(1))
    return found


def check_migrations(plugins: Iterable[CarePlugin]) -> None:
    """Check every declared migrations folder: absolute, present, and no revision id that the
    core or another folder also holds (alembic would refuse the whole graph).

    Raises:
        PluginError: The first problem found, naming its plugin and folder.
    """
    owners = dict.fromkeys(_revision_ids(_CORE_VERSIONS), "the careflow core")
    for plugin in plugins:
        for folder in plugin.migration_folders():
            where = f"migrations folder {folder}"
            if not folder.is_absolute():
                raise PluginError(
                    plugin.name,
                    f"{where} is not an absolute path (declare Path(__file__).parent / ...)",
                )
            if not folder.is_dir():
                raise PluginError(plugin.name, f"{where} does not exist or is not a folder")
            for revision in _revision_ids(folder):
                other = owners.get(revision)
                if other is not None:
                    raise PluginError(
                        plugin.name,
                        f"{where}: revision {revision!r} is also held by {other}; "
                        "revision ids must be unique across plugins",
                    )
                owners[revision] = f"plugin {plugin.name!r}"


_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def toml_table(*keys: str) -> str:
    """The TOML header of a table, quoting keys that need it: ``[district.x."childcare.wish"]``.

    Every module process id has a dot, so its table must be quoted; error messages show the
    header exactly as it has to be written.
    """
    quoted = (k if _BARE_KEY.match(k) else json.dumps(k, ensure_ascii=False) for k in keys)
    return "[" + ".".join(quoted) + "]"


def load_overrides(path: Path | None) -> dict[str, dict[str, dict[str, Any]]]:
    """Read per-district parameter overrides: ``[district.<code>."<process>"]`` tables in TOML.

    Only the file and its top level are checked here; :meth:`PluginRegistry.build` checks the
    tables against the districts and processes, naming the table and key of each problem.

    Raises:
        InputError: The file is missing, not UTF-8, not valid TOML, or has other top-level keys.
    """
    if path is None:
        return {}
    where = f"plugin configuration {path}"
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise InputError(where, f"cannot read it: {err.strerror or err}") from err
    except UnicodeDecodeError as err:
        raise InputError(
            where, f"not UTF-8 text ({err.reason} at byte {err.start}); save it as UTF-8"
        ) from err
    except tomllib.TOMLDecodeError as err:
        raise InputError(where, f"not valid TOML: {err}") from err
    extra = sorted(set(raw) - {"district"})
    districts = raw.get("district", {})
    if extra or not isinstance(districts, dict):
        named = ", ".join(extra) if extra else "district = …"
        raise InputError(
            where,
            f"unexpected {named}: the file holds only "
            '[district.<district code>."<process id>"] tables',
        )
    return districts


@dataclass(frozen=True, slots=True)
class _Contribution:
    plugin: CarePlugin
    step: StepSpec


@dataclass(frozen=True, slots=True)
class _Declared:
    plugin: CarePlugin
    task_type: TaskType


@dataclass
class PluginRegistry:
    """The validated set of loaded plugins; build it with :meth:`build`."""

    plugins: tuple[CarePlugin, ...]
    processes: dict[str, ProcessSpec] = field(default_factory=dict)
    owners: dict[str, CarePlugin] = field(default_factory=dict)
    routes: dict[str, EventRoute] = field(default_factory=dict)
    roles: dict[str, RoleSpec] = field(default_factory=dict)
    """Every declared role by name (``careflow.roles``), in load order."""
    figures: dict[str, FigureSpec] = field(default_factory=dict)
    """Every report section by key (``careflow.figures``), in load order."""
    overrides: Mapping[str, Mapping[str, Mapping[str, Any]]] = field(default_factory=dict)
    config_source: str | None = None
    _steps: dict[str, list[_Contribution]] = field(default_factory=dict)
    _task_types: dict[str, _Declared] = field(default_factory=dict)
    # Old form reference -> current one (``TaskType.aliases``): rows from before a move.
    _form_aliases: dict[str, str] = field(default_factory=dict)
    _role_owners: dict[str, CarePlugin] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        plugins: Iterable[CarePlugin],
        *,
        overrides: Mapping[str, Mapping[str, Mapping[str, Any]]] | None = None,
        config_source: str | None = None,
    ) -> PluginRegistry:
        """Validate ``plugins`` together and index them.

        Args:
            plugins: The plugins to load.
            overrides: District → process → params, as read by :func:`load_overrides`.
            config_source: Where ``overrides`` came from (the file), named in its errors.

        Raises:
            PluginError: The first problem found, naming its plugin.
            InputError: An override is not a table, names an unknown district, process or
                key, or sets a bad value; names the file, table and key.
        """
        ordered = tuple(sorted(plugins, key=lambda p: (p.order, p.name)))
        registry = cls(plugins=ordered, overrides=overrides or {}, config_source=config_source)
        registry._validate()
        register_forms(registry.forms())
        register_roles(registry.roles.values())
        return registry

    @classmethod
    def discover(cls, *, config: Path | None = None) -> PluginRegistry:
        """Discover plugins from entry points and apply the configuration file."""
        return cls.build(
            discover_plugins(),
            overrides=load_overrides(config),
            config_source=None if config is None else str(config),
        )

    # -- validation

    def _validate(self) -> None:
        names: set[str] = set()
        activities: dict[str, str] = {}
        # Roles first: processes, steps and routes of any plugin may name them.
        for plugin in self.plugins:
            for role in plugin.roles:
                self._add_role(plugin, role)
        for plugin in self.plugins:
            if not plugin.name or plugin.name in names:
                raise PluginError(plugin.name, "duplicate or empty plugin name")
            names.add(plugin.name)
            if not plugin.version:
                raise PluginError(plugin.name, "version is empty")
            for wf in plugin.all_workflows():
                if not hasattr(wf, "__temporal_workflow_definition"):
                    raise PluginError(plugin.name, f"{wf.__qualname__} is not a @workflow.defn")
            for module in plugin.sandbox_passthrough:
                if not isinstance(module, str) or not MODULE_NAME.fullmatch(module):
                    raise PluginError(
                        plugin.name, f"sandbox_passthrough: {module!r} is not a module name"
                    )
                if not _importable(module):
                    raise PluginError(
                        plugin.name, f"sandbox_passthrough: no module {module!r} to pass through"
                    )
            for aset in plugin.activities:
                for name in aset.names():
                    if name in activities:
                        raise PluginError(
                            plugin.name,
                            f"activity {name!r} is already registered by {activities[name]!r}",
                        )
                    activities[name] = plugin.name
            for spec in plugin.processes:
                self._add_process(plugin, spec)
            for task_type in plugin.task_types:
                self._add_task_type(plugin, task_type)
        for plugin in self.plugins:
            for step in plugin.steps:
                self._add_step(plugin, step, activities)
            for route in plugin.routes:
                self._add_route(plugin, route)
            for programme in plugin.programmes:
                self._check_programme(plugin, programme)
            for schedule in plugin.schedules:
                self._check_schedule(plugin, schedule)
            for figure in plugin.figures:
                self._add_figure(plugin, figure)
        check_migrations(self.plugins)
        missing = ENGINE_ACTIVITIES - activities.keys()
        if self.processes and missing:
            raise PluginError("engine", f"engine activities not registered: {sorted(missing)}")
        self._check_overrides()

    def _add_process(self, plugin: CarePlugin, spec: ProcessSpec) -> None:
        if spec.id in self.processes:
            raise PluginError(
                plugin.name,
                f"process {spec.id!r} is already defined by {self.owners[spec.id].name!r}",
            )
        if len(set(spec.extension_points)) != len(spec.extension_points):
            raise PluginError(plugin.name, f"process {spec.id!r} repeats an extension point")
        self._check_roles(plugin, f"process {spec.id!r} start_roles", spec.start_roles)
        try:
            spec.params_model()
        except ValidationError as err:
            raise PluginError(
                plugin.name,
                f"params model of process {spec.id!r} needs a default for every field: "
                + format_validation_error(err),
            ) from err
        self.processes[spec.id] = spec
        self.owners[spec.id] = plugin
        self._steps[spec.id] = []

    def _add_step(self, plugin: CarePlugin, step: StepSpec, activities: Mapping[str, str]) -> None:
        where = f"step {step.key!r}"
        spec = self.processes.get(step.process)
        if spec is None:
            raise PluginError(plugin.name, f"{where} names unknown process {step.process!r}")
        if step.point not in spec.extension_points:
            raise PluginError(
                plugin.name,
                f"{where} names unknown extension point {step.point!r} of process "
                f"{step.process!r} (known: {', '.join(spec.extension_points) or 'none'})",
            )
        unknown = step.districts - DISTRICTS.keys()
        if unknown:
            raise PluginError(plugin.name, f"{where} names unknown districts {sorted(unknown)}")
        if not step.key:
            raise PluginError(plugin.name, f"a step of process {step.process!r} has an empty key")
        for other in self._steps[step.process]:
            if other.step.key == step.key:
                raise PluginError(
                    plugin.name,
                    f"{where} is already used in process {step.process!r} by plugin "
                    f"{other.plugin.name!r}: step keys are idempotency keys and must be unique",
                )
        self._check_step_durations(plugin, step)
        if isinstance(step, ActivityStep) and step.activity not in activities:
            raise PluginError(plugin.name, f"{where} names unregistered activity {step.activity!r}")
        if isinstance(step, HumanTaskStep):
            self._check_roles(plugin, where, [step.role])
            for level in step.escalation:
                self._check_roles(plugin, f"{where} escalation", [level.role])
            if not _is_model(step.form):
                raise PluginError(
                    plugin.name, f"{where}: form {step.form!r} is not a pydantic model"
                )
            if form_ref(step.form) not in self._task_types:
                implicit = TaskType(form=step.form, title_zh=step.title_zh, title_en=step.title_en)
                self._add_task_type(plugin, implicit)
            else:
                self._check_same_form(plugin, step.form, where)
        if isinstance(step, ChildProcessStep):
            child = self.processes.get(step.child_process)
            if child is None:
                raise PluginError(
                    plugin.name, f"{where} names unknown child process {step.child_process!r}"
                )
            try:
                child.request_model.model_validate(dict(step.request))
            except ValidationError as err:
                raise PluginError(
                    plugin.name, f"{where} request: {format_validation_error(err)}"
                ) from err
        self._steps[step.process].append(_Contribution(plugin, step))

    def _add_figure(self, plugin: CarePlugin, figure: FigureSpec) -> None:
        if not isinstance(figure, FigureSpec):
            raise PluginError(plugin.name, f"figure {figure!r} is not a careflow FigureSpec")
        where = f"figure {figure.key!r}"
        if not figure.key or figure.key in self.figures:
            raise PluginError(plugin.name, f"{where}: key empty or already used")
        if not figure.title_zh.strip():
            raise PluginError(plugin.name, f"{where} needs a Chinese title")
        if not callable(figure.compute):
            raise PluginError(plugin.name, f"{where}: compute is not callable")
        unknown = [p for p in figure.processes if p not in self.processes]
        if unknown:
            raise PluginError(plugin.name, f"{where} reports on unknown processes {unknown}")
        self.figures[figure.key] = figure

    def _add_role(self, plugin: CarePlugin, role: RoleSpec) -> None:
        if not isinstance(role, RoleSpec):
            raise PluginError(plugin.name, f"role {role!r} is not a careflow RoleSpec")
        try:
            check_role_name(role.name)
        except ValueError as err:
            raise PluginError(plugin.name, str(err)) from err
        where = f"role {role.name!r}"
        if not role.title_zh.strip() or not role.title_en.strip():
            raise PluginError(plugin.name, f"{where} needs a Chinese and an English title")
        other = self._role_owners.get(role.name)
        if other is not None:
            owner = "itself" if other is plugin else repr(other.name)
            raise PluginError(
                plugin.name, f"{where} is already declared by {owner}: a role belongs to one plugin"
            )
        self.roles[role.name] = role
        self._role_owners[role.name] = plugin

    def _check_roles(self, plugin: CarePlugin, where: str, roles: Iterable[str]) -> None:
        # A role no plugin declares would open tasks nobody's grant can see.
        for role in roles:
            if role not in self.roles:
                known = ", ".join(sorted(self.roles)) or "none"
                raise PluginError(
                    plugin.name,
                    f"{where} names unknown role {role!r}: no loaded plugin declares it "
                    f"(known: {known})",
                )

    def _add_task_type(self, plugin: CarePlugin, task_type: TaskType) -> None:
        form = task_type.form
        if not _is_model(form):
            raise PluginError(plugin.name, f"task type form {form!r} is not a pydantic model")
        ref = form_ref(form)
        where = f"task type {ref!r}"
        try:
            check_ref(ref)
        except FormRefError as err:
            raise PluginError(plugin.name, f"{where}: {err}") from err
        if task_type.context is not None and not callable(task_type.context):
            raise PluginError(plugin.name, f"{where}: context view is not callable")
        if ref in self._form_aliases:
            raise PluginError(
                plugin.name, f"{where} is already an alias of {self._form_aliases[ref]!r}"
            )
        other = self._task_types.get(ref)
        if other is not None:
            owner = "itself" if other.plugin is plugin else repr(other.plugin.name)
            raise PluginError(
                plugin.name,
                f"{where} is already declared by {owner}: a form belongs to one plugin",
            )
        self._task_types[ref] = _Declared(plugin, task_type)
        for alias in task_type.aliases:
            self._add_form_alias(plugin, alias, ref)

    def _add_form_alias(self, plugin: CarePlugin, alias: str, ref: str) -> None:
        where = f"task type {ref!r} alias {alias!r}"
        try:
            check_ref(alias)
        except FormRefError as err:
            raise PluginError(plugin.name, f"{where}: {err}") from err
        if alias in self._task_types or alias in self._form_aliases:
            raise PluginError(
                plugin.name, f"{where} is already a form reference: an alias names one form"
            )
        self._form_aliases[alias] = ref

    def _check_same_form(self, plugin: CarePlugin, form: type[BaseModel], where: str) -> None:
        declared = self._task_types[form_ref(form)].task_type.form
        if declared is not form:
            raise PluginError(
                plugin.name,
                f"{where}: form {form_ref(form)!r} is another class than the one declared",
            )

    @staticmethod
    def _check_step_durations(plugin: CarePlugin, step: StepSpec) -> None:
        # A zero or negative due time expires a task before anyone sees it; a zero timeout
        # fails every attempt of the activity.
        durations: list[tuple[str, Any]] = []
        if isinstance(step, ActivityStep):
            durations.append(("timeout", step.timeout))
        if isinstance(step, HumanTaskStep):
            durations.append(("due", step.due))
            durations += [(f"escalation to {e.role}", e.due) for e in step.escalation]
        if isinstance(step, WaitStep):
            durations.append(("duration", step.duration))
        for name, value in durations:
            if value <= timedelta(0):
                raise PluginError(
                    plugin.name, f"step {step.key!r}: {name} must be positive, not {value}"
                )

    def _add_route(self, plugin: CarePlugin, route: EventRoute) -> None:
        if route.event_type in self.routes:
            raise PluginError(plugin.name, f"event type {route.event_type!r} is already routed")
        self._check_roles(
            plugin, f"event route {route.event_type!r} sender_roles", route.sender_roles
        )
        spec = self.processes.get(route.process)
        if spec is None:
            raise PluginError(
                plugin.name,
                f"event route {route.event_type!r} names unknown process {route.process!r}",
            )
        defn = getattr(spec.workflow, "__temporal_workflow_definition")
        if route.signal not in defn.signals:
            raise PluginError(
                plugin.name,
                f"event route {route.event_type!r}: workflow of {route.process!r} has no "
                f"signal {route.signal!r}",
            )
        if route.start_if_absent and route.to_request is None:
            raise PluginError(
                plugin.name,
                f"event route {route.event_type!r} starts a process but has no to_request",
            )
        if route.start_if_absent and route.workflow_id is not None:
            raise PluginError(
                plugin.name,
                f"event route {route.event_type!r} starts a process, so its workflow id is the "
                "process's: it may not pick another",
            )
        self.routes[route.event_type] = route

    def _check_programme(self, plugin: CarePlugin, programme: Any) -> None:
        if programme.district not in DISTRICTS:
            raise PluginError(
                plugin.name, f"programme names unknown district {programme.district!r}"
            )
        for process in {*programme.enable, *programme.disable, *programme.params}:
            if process not in self.processes:
                raise PluginError(
                    plugin.name,
                    f"programme for {programme.district!r} names unknown process {process!r}",
                )
        for process, values in programme.params.items():
            unknown = unknown_keys(self.processes[process].params_model, values)
            if unknown:
                raise PluginError(
                    plugin.name,
                    f"params for {process!r} in {programme.district!r}: "
                    + _unknown_keys_problem(unknown),
                )
            try:
                self._merged_params(process, [values])
            except ValidationError as err:
                raise PluginError(
                    plugin.name,
                    f"params for {process!r} in {programme.district!r}: "
                    + format_validation_error(err),
                ) from err

    def _check_schedule(self, plugin: CarePlugin, schedule: ScheduleSpec) -> None:
        spec = self.processes.get(schedule.process)
        if spec is None:
            raise PluginError(
                plugin.name, f"schedule {schedule.id!r} names unknown process {schedule.process!r}"
            )
        if not schedule.crons:
            raise PluginError(plugin.name, f"schedule {schedule.id!r} has no cron expression")
        for cron in schedule.crons:
            if len(cron.split()) != 5:
                raise PluginError(
                    plugin.name, f"schedule {schedule.id!r}: cron {cron!r} needs five fields"
                )
        TemporalScheduleSpec(
            cron_expressions=list(schedule.crons), time_zone_name=schedule.time_zone
        )
        if schedule.time_param is not None:
            if schedule.time_param not in spec.params_model.model_fields:
                raise PluginError(
                    plugin.name,
                    f"schedule {schedule.id!r}: time_param {schedule.time_param!r} is not a "
                    f"param of process {schedule.process!r}",
                )
            default = spec.params_model().model_dump(mode="json")[schedule.time_param]
            try:
                schedule.crons_for({schedule.time_param: default})
            except (ValueError, IndexError) as err:
                raise PluginError(
                    plugin.name,
                    f"schedule {schedule.id!r}: time_param default {default!r} is not HH:MM",
                ) from err
        try:
            spec.request_model.model_validate(dict(schedule.request))
        except ValidationError as err:
            raise PluginError(
                plugin.name, f"schedule {schedule.id!r} request: {format_validation_error(err)}"
            ) from err

    def _config_error(self, table: str, problem: str) -> InputError:
        """An error in the configuration file, naming the file and the table."""
        where = f"plugin configuration {self.config_source} " if self.config_source else ""
        return InputError(f"{where}{table}", problem)

    def _check_overrides(self) -> None:
        for district, processes in self.overrides.items():
            table = toml_table("district", district)
            if district not in DISTRICTS:
                raise self._config_error(
                    table, f"unknown district {district!r} (known: {', '.join(DISTRICTS)})"
                )
            if not isinstance(processes, Mapping):
                raise self._config_error(
                    toml_table("district"),
                    f"{district} = {processes!r} is not a table; write "
                    f'{toml_table("district", district)[:-1]}."<process id>"] tables',
                )
            for process, values in processes.items():
                self._check_override(district, process, values)

    def _check_override(self, district: str, process: str, values: Any) -> None:
        table = toml_table("district", district, process)
        if process not in self.processes:
            raise self._config_error(table, self._unknown_process(district, process, values))
        if not isinstance(values, Mapping):
            raise self._config_error(
                toml_table("district", district),
                f"{process} = {values!r} is not a table; write the parameters of {process!r} "
                f"under {table}, one key = value per line",
            )
        unknown = unknown_keys(self.processes[process].params_model, values)
        if unknown:
            raise self._config_error(table, _unknown_keys_problem(unknown))
        try:
            self.params_for(process, district)
        except ValidationError as err:
            raise self._config_error(table, format_validation_error(err)) from err

    def _unknown_process(self, district: str, process: str, values: Any) -> str:
        """Say which process was meant: an unquoted ``childcare.microwish`` nests tables."""
        nested = (
            [f"{process}.{sub}" for sub in values if f"{process}.{sub}" in self.processes]
            if isinstance(values, Mapping)
            else []
        )
        if nested:
            quoted = ", ".join(toml_table("district", district, p) for p in nested)
            return (
                f"unknown process {process!r}: process ids contain a dot, so quote them: "
                f"write {quoted}"
            )
        known = sorted(self.processes)
        # ``[district.x.microwish]`` left out the module; otherwise a near spelling.
        close = [p for p in known if p.endswith(f".{process}")] or difflib.get_close_matches(
            process, known, n=1, cutoff=0.8
        )
        if close:
            return (
                f"unknown process {process!r} (did you mean "
                f"{toml_table('district', district, close[0])}?)"
            )
        example = next((p for p in known if "." in p), "childcare.microwish")
        return (
            f"unknown process {process!r} (known: {', '.join(known)}); "
            f"quote ids that contain a dot, e.g. {toml_table('district', district, example)}"
        )

    # -- queries

    def process(self, process_id: str) -> ProcessSpec:
        """The spec of a process.

        Raises:
            InputError: No loaded plugin defines it.
        """
        spec = self.processes.get(process_id)
        if spec is None:
            known = ", ".join(sorted(self.processes)) or "none"
            raise InputError("process", f"unknown process {process_id!r} (known: {known})")
        return spec

    def is_enabled(self, process_id: str, district: str) -> bool:
        """Whether ``district`` runs ``process_id``: the default, then programmes in order."""
        enabled = self.process(process_id).default_enabled
        for plugin in self.plugins:
            for programme in plugin.programmes:
                if programme.district != district:
                    continue
                if process_id in programme.enable:
                    enabled = True
                if process_id in programme.disable:
                    enabled = False
        return enabled

    def _merged_params(self, process_id: str, layers: Sequence[Mapping[str, Any]]) -> BaseModel:
        merged: dict[str, Any] = {}
        for layer in layers:
            merged.update(layer)
        return self.process(process_id).params_model.model_validate(merged)

    def params_for(self, process_id: str, district: str) -> dict[str, Any]:
        """Process defaults ← district programmes ← configuration file, validated."""
        layers = [
            programme.params.get(process_id, {})
            for plugin in self.plugins
            for programme in plugin.programmes
            if programme.district == district
        ]
        layers.append(self.overrides.get(district, {}).get(process_id, {}))
        return self._merged_params(process_id, layers).model_dump(mode="json")

    def check_district(self, district: str) -> None:
        """Raise ``InputError`` for a district code careflow does not serve."""
        if district not in DISTRICTS:
            raise InputError(
                "district", f"unknown district {district!r} (known: {', '.join(DISTRICTS)})"
            )

    def resolve_plan(self, process_id: str, district: str, *, now: datetime | None = None) -> Plan:
        """The ordered steps and params a new process of ``process_id`` in ``district`` runs.

        Raises:
            InputError: Unknown process or district, or the process is not enabled there.
        """
        self.process(process_id)
        self.check_district(district)
        if not self.is_enabled(process_id, district):
            raise InputError("process", f"process {process_id!r} is not enabled in {district!r}")
        contributions = [c for c in self._steps[process_id] if c.step.applies_to(district)]
        # Plugins are already in (order, name) order, contributions in declaration order.
        versions = {self.owners[process_id].name: self.owners[process_id].version}
        for c in contributions:
            versions.setdefault(c.plugin.name, c.plugin.version)
        for plugin in self.plugins:
            for programme in plugin.programmes:
                if programme.district == district and (
                    process_id in programme.params or process_id in programme.enable
                ):
                    versions.setdefault(plugin.name, plugin.version)
        return Plan(
            process=process_id,
            district=district,
            resolved_at=now or datetime.now(UTC),
            plugins=versions,
            params=self.params_for(process_id, district),
            steps=[
                c.step.to_plan_step(plugin=c.plugin.name, version=c.plugin.version)
                for c in contributions
            ],
        )

    def route(self, event_type: str) -> EventRoute:
        """The route of an event type.

        Raises:
            InputError: No plugin routes it.
        """
        route = self.routes.get(event_type)
        if route is None:
            known = ", ".join(sorted(self.routes)) or "none"
            raise InputError("event_type", f"no route for event {event_type!r} (known: {known})")
        return route

    def schedules(self) -> list[tuple[CarePlugin, ScheduleSpec]]:
        """Every declared schedule with its plugin."""
        return [(p, s) for p in self.plugins for s in p.schedules]

    def form(self, ref: str) -> type[BaseModel]:
        """The form a task row or plan names, among the forms the plugins declare.

        Imports nothing: a reference no plugin declares is refused, whatever module it names.

        Raises:
            FormRefError: ``ref`` is malformed or no loaded plugin declares it.
        """
        return self.task_type(ref).form

    def task_type(self, ref: str) -> TaskType:
        """The task type (form, context view, titles) of a form reference.

        Raises:
            FormRefError: ``ref`` is malformed or no loaded plugin declares it.
        """
        return self._declared(ref).task_type

    def _declared(self, ref: str) -> _Declared:
        checked = check_ref(ref)
        declared = self._task_types.get(self._form_aliases.get(checked, checked))
        if declared is None:
            raise FormRefError(f"form {ref!r} is not declared by any loaded plugin")
        return declared

    def task_type_owner(self, ref: str) -> CarePlugin:
        """The plugin that declares the form ``ref``.

        Raises:
            FormRefError: ``ref`` is malformed or no loaded plugin declares it.
        """
        return self._declared(ref).plugin

    def forms(self) -> dict[str, type[BaseModel]]:
        """Every declared form by reference, and by each alias it keeps from before a move."""
        forms = {ref: d.task_type.form for ref, d in self._task_types.items()}
        forms.update({alias: forms[ref] for alias, ref in self._form_aliases.items()})
        return forms

    def task_types(self) -> dict[str, TaskType]:
        """Every task type by form reference, in declaration order."""
        return {ref: d.task_type for ref, d in self._task_types.items()}

    def role_owner(self, name: str) -> CarePlugin | None:
        """The plugin that declares role ``name``, or ``None`` when none does."""
        return self._role_owners.get(name)

    def steps_of(self, plugin: CarePlugin) -> list[StepSpec]:
        """Steps a plugin contributes (for ``careflow plugins``)."""
        return list(plugin.steps)


def _is_model(form: object) -> bool:
    return isinstance(form, type) and issubclass(form, BaseModel)


def _unknown_keys_problem(unknown: list[tuple[str, list[str]]]) -> str:
    """``handover_dux: unknown key, did you mean handover_due? (known: …)`` per key."""
    parts = []
    for path, known in unknown:
        close = difflib.get_close_matches(path.rsplit(".", 1)[-1], known, n=1)
        hint = f", did you mean {close[0]}?" if close else ""
        parts.append(f"{path}: unknown key{hint} (known: {', '.join(known) or 'none'})")
    return "; ".join(parts)


def _importable(module: str) -> bool:
    """Whether ``module`` is imported or can be (finding it imports its parent packages)."""
    if module in sys.modules:
        return True
    try:
        return importlib.util.find_spec(module) is not None
    except ImportError:
        return False
