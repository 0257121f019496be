"""The Temporal namespace keeps closed histories no longer than the app keeps case data.

A closed workflow's history holds its inputs, task answers and results (encrypted, but the
key opens them), so it must not outlive the app's own retention: the namespace's history
retention (``DescribeNamespace``) must be at most the shortest retention period any district
sets for any purpose. The worker warns at start when it is not (``careflow worker``), the
retention run reports it in its result and audit rows, ``careflow retention check`` exits 1,
and the dev stack lowers its own namespace's retention to fit.

A warning and not a refusal at worker start: refusing would stop every process (emergency
green-channel referrals, curtain checks) over how long the history store keeps closed
histories, a setting of the Temporal operator that the app cannot fix itself outside dev.
"""

from __future__ import annotations

from datetime import timedelta

from google.protobuf.duration_pb2 import Duration
from temporalio.api.namespace.v1 import NamespaceConfig
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest, UpdateNamespaceRequest
from temporalio.client import Client

from careflow.areas import DISTRICTS
from careflow.registry import PluginRegistry
from plugins.privacy.models import RETENTION_PROCESS, NamespaceCheck, RetentionParams
from plugins.privacy.purposes import PURPOSES

__all__ = [
    "check_namespace",
    "compare",
    "days",
    "limit_namespace_retention",
    "namespace_retention",
    "shortest_retention",
]


def days(value: timedelta) -> str:
    """``180 天 days`` (or hours when not whole days), for messages."""
    if value % timedelta(days=1) == timedelta(0):
        return f"{value.days} 天 days"
    return f"{value / timedelta(hours=1):g} 小时 hours"


async def namespace_retention(client: Client) -> timedelta | None:
    """The history retention of the client's namespace; None when it keeps histories forever."""
    described = await client.workflow_service.describe_namespace(
        DescribeNamespaceRequest(namespace=client.namespace)
    )
    config = described.config
    if not config.HasField("workflow_execution_retention_ttl"):
        return None
    ttl = config.workflow_execution_retention_ttl.ToTimedelta()
    return ttl if ttl > timedelta(0) else None


def shortest_retention(registry: PluginRegistry) -> tuple[timedelta, str] | None:
    """The shortest retention period of any purpose in any district that runs retention.

    Returns:
        (period, ``"<district>/<purpose>"``), or None when no district runs retention.
    """
    found: list[tuple[timedelta, str]] = []
    if RETENTION_PROCESS not in registry.processes:
        return None
    for district in DISTRICTS:
        if not registry.is_enabled(RETENTION_PROCESS, district):
            continue
        params = RetentionParams.model_validate(registry.params_for(RETENTION_PROCESS, district))
        found += [(params.period(p.code), f"{district}/{p.code}") for p in PURPOSES]
    return min(found) if found else None


def compare(
    namespace: str, retention: timedelta | None, shortest: tuple[timedelta, str] | None
) -> NamespaceCheck:
    """Whether ``retention`` fits ``shortest``, with the sentence that says so."""
    if shortest is None:
        return NamespaceCheck(
            namespace=namespace,
            retention=retention,
            shortest=None,
            ok=True,
            message=f"没有区运行数据保留 no district runs retention; namespace {namespace} "
            "history retention is not constrained",
        )
    period, where = shortest
    kept = "永久 forever" if retention is None else days(retention)
    if retention is not None and retention <= period:
        return NamespaceCheck(
            namespace=namespace,
            retention=retention,
            shortest=period,
            shortest_where=where,
            ok=True,
            message=f"命名空间 {namespace} 历史保留 {kept}，不长于最短数据保留期限 {days(period)} "
            f"({where}) · namespace history retention is within the app's shortest retention",
        )
    hours = int(period / timedelta(hours=1))
    return NamespaceCheck(
        namespace=namespace,
        retention=retention,
        shortest=period,
        shortest_where=where,
        ok=False,
        message=f"命名空间 {namespace} 历史保留 {kept}，长于最短数据保留期限 {days(period)} "
        f"({where})：已结案流程的历史会比应用数据保存得更久 · namespace {namespace} keeps "
        f"closed histories longer than the app keeps their data; lower it with `temporal "
        f"operator namespace update --retention {hours}h {namespace}`",
    )


async def check_namespace(client: Client, registry: PluginRegistry) -> NamespaceCheck:
    """Compare the namespace's history retention with the shortest app retention."""
    return compare(
        client.namespace, await namespace_retention(client), shortest_retention(registry)
    )


async def limit_namespace_retention(client: Client, registry: PluginRegistry) -> NamespaceCheck:
    """Lower the namespace's history retention to the shortest app retention if it is longer.

    For the dev stack, whose namespace careflow owns; a production namespace is the Temporal
    operator's (see :mod:`plugins.privacy.namespace`).

    Returns:
        The check after the change (or without one, when none was needed).
    """
    check = await check_namespace(client, registry)
    if check.ok or check.shortest is None:
        return check
    ttl = Duration()
    ttl.FromTimedelta(check.shortest)
    await client.workflow_service.update_namespace(
        UpdateNamespaceRequest(
            namespace=client.namespace,
            config=NamespaceConfig(workflow_execution_retention_ttl=ttl),
        )
    )
    return await check_namespace(client, registry)
