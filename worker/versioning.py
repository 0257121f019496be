"""Worker Versioning: a worker with a build id joins the deployment, each process pinned or not.

With ``CAREFLOW_BUILD_ID`` set, a worker is one version (``CAREFLOW_DEPLOYMENT_NAME``, build
id) of a Temporal Worker Deployment, and every workflow type it runs gets a versioning
behaviour by one rule (docs/ARCHITECTURE.md, "Upgrades"):

- a long-lived process (``ProcessSpec.long_lived``: tier plans, health monitors, retention;
  weeks to years, continuing as new) is **auto-upgrade**: its next workflow task goes to the
  current version, so every change to its commands is guarded by ``workflow.patched``;
- every other workflow type (short processes: hours to weeks; the launcher) is **pinned**: it
  finishes on the version it started on, and old workers stay up until those runs drain.

The behaviour cannot be written in each ``@workflow.defn``: the server refuses a behaviour from
an unversioned worker ("versioning behavior cannot be specified without deployment options"),
and the dev stack and the tests run unversioned. So it is applied only by a versioned worker,
to the completions of its workflow tasks, through a wrapper around the worker's workflow
runner (sandboxed or not; it changes no command, so histories replay the same).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import temporalio.bridge.proto.workflow_activation
import temporalio.bridge.proto.workflow_completion
import temporalio.workflow
from temporalio.common import VersioningBehavior, WorkerDeploymentVersion
from temporalio.plugin import SimplePlugin
from temporalio.worker import (
    WorkerDeploymentConfig,
    WorkflowInstance,
    WorkflowInstanceDetails,
    WorkflowRunner,
)

from careflow.contract import ProcessSpec
from careflow.registry import PluginRegistry
from careflow.settings import Settings

__all__ = [
    "PLUGIN_NAME",
    "VersionedRunner",
    "behaviour_of",
    "deployment_config",
    "deployment_version",
    "versioning_behaviours",
    "versioning_plugin",
]

PLUGIN_NAME = "careflow.versioning"

_Activation = temporalio.bridge.proto.workflow_activation.WorkflowActivation
_Completion = temporalio.bridge.proto.workflow_completion.WorkflowActivationCompletion


def behaviour_of(spec: ProcessSpec) -> VersioningBehavior:
    """The rule: long-lived processes auto-upgrade, every other process is pinned."""
    return VersioningBehavior.AUTO_UPGRADE if spec.long_lived else VersioningBehavior.PINNED


def versioning_behaviours(registry: PluginRegistry) -> dict[str, VersioningBehavior]:
    """The behaviour of every process's workflow type; other types take the pinned default."""
    return {spec.workflow_type: behaviour_of(spec) for spec in registry.processes.values()}


def deployment_version(settings: Settings) -> WorkerDeploymentVersion | None:
    """This worker's deployment version, or ``None`` for an unversioned worker."""
    if settings.build_id is None:
        return None
    return WorkerDeploymentVersion(
        deployment_name=settings.deployment_name, build_id=settings.build_id
    )


def deployment_config(settings: Settings) -> WorkerDeploymentConfig | None:
    """The worker's deployment options when ``CAREFLOW_BUILD_ID`` is set, else ``None``.

    Workflow types the rule does not name (the launcher, a plugin's helper workflows) are
    pinned: a run that is not known to be long-lived must not meet code it did not start on.
    """
    version = deployment_version(settings)
    if version is None:
        return None
    return WorkerDeploymentConfig(
        version=version,
        use_worker_versioning=True,
        default_versioning_behavior=VersioningBehavior.PINNED,
    )


class VersionedRunner(WorkflowRunner):
    """A workflow runner that stamps each workflow type's behaviour on its task completions.

    Args:
        inner: The runner that really runs the workflows (the sandbox).
        behaviours: Behaviour per workflow type; types not named keep the worker's default.
    """

    def __init__(self, inner: WorkflowRunner, behaviours: Mapping[str, VersioningBehavior]) -> None:
        self.inner = inner
        self.behaviours = dict(behaviours)

    def prepare_workflow(self, defn: temporalio.workflow._Definition) -> None:
        self.inner.prepare_workflow(defn)

    def set_worker_level_failure_exception_types(
        self, types: Sequence[type[BaseException]]
    ) -> None:
        self.inner.set_worker_level_failure_exception_types(types)

    def create_instance(self, det: WorkflowInstanceDetails) -> WorkflowInstance:
        instance = self.inner.create_instance(det)
        behaviour = self.behaviours.get(det.defn.name or "")
        if behaviour is None or behaviour == VersioningBehavior.UNSPECIFIED:
            return instance
        return _VersionedInstance(instance, behaviour)


class _VersionedInstance(WorkflowInstance):
    """Delegates to the real instance; sets the behaviour on every successful completion."""

    def __init__(self, inner: WorkflowInstance, behaviour: VersioningBehavior) -> None:
        self._inner = inner
        self._behaviour = behaviour

    def activate(self, act: _Activation) -> _Completion:
        completion = self._inner.activate(act)
        if completion.HasField("successful"):
            completion.successful.versioning_behavior = self._behaviour.value
        return completion

    def get_serialization_context(self, command_info: Any) -> Any:
        return self._inner.get_serialization_context(command_info)

    def get_external_store_context(self, command_info: Any) -> Any:
        return self._inner.get_external_store_context(command_info)

    def get_info(self) -> temporalio.workflow.Info:
        return self._inner.get_info()

    def get_thread_id(self) -> int | None:
        return self._inner.get_thread_id()


def versioning_plugin(registry: PluginRegistry) -> SimplePlugin:
    """The worker plugin that wraps the runner; listed last, it wraps what others configured.

    Other plugins (tracing) adjust the sandboxed runner first; wrapping it earlier would hide
    the sandbox from them.
    """

    def wrap(runner: WorkflowRunner | None) -> WorkflowRunner:
        if runner is None:
            raise ValueError("versioning needs the worker's workflow runner")
        return VersionedRunner(runner, versioning_behaviours(registry))

    return SimplePlugin(PLUGIN_NAME, workflow_runner=wrap)
