"""Processes: which a principal may start, starting one, reading one, finding a case.

A case is found by its case ref (a registry id, a case number) or by its case key, the
pseudonym the Temporal Web UI shows in workflow ids and ``CareCaseRef``: that is how a
supervisor goes from a pseudonym to the case's rows, then (``process.unmask``, with a reason)
to the person.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from careflow.access.actions.attempts import Audited, ClientSource
from careflow.access.actions.tasks import sees
from careflow.access.audit import Attempt
from careflow.access.principal import Principal
from careflow.access.refusals import Refused
from careflow.access.scope import area_of
from careflow.contract import ProcessSpec
from careflow.db import crud
from careflow.db.tables import AuditEntry, CaseRecord, Task
from careflow.inputs import check_case_ref
from careflow.privacy.pseudonyms import default_pseudonyms, is_case_key
from careflow.registry import PluginRegistry
from careflow.service import StartedProcess, prepare_start, process_status, start_prepared

__all__ = ["find_cases", "lookup_case", "process_view", "start_process", "startable"]


def startable(
    registry: PluginRegistry, principal: Principal
) -> list[tuple[ProcessSpec, list[str]]]:
    """Processes the principal may start, each with the areas (its grants) it may start them in."""
    if principal.token is not None:
        return []
    found = []
    for spec in registry.processes.values():
        areas = sorted({g.area for g in principal.grants if g.role in spec.start_roles})
        if areas:
            found.append((spec, areas))
    return found


async def start_process(
    client: ClientSource,
    engine: Engine,
    registry: PluginRegistry,
    attempt: Attempt,
    *,
    process: str,
    district: str,
    request: Any,
    task_queue: str,
    community: str | None = None,
    case_ref: str | None = None,
) -> StartedProcess:
    """Start a process as the attempt's principal; audited.

    The principal must hold one of the process's ``start_roles`` over the community (or, for
    a start without a community, over the district). ``started_by`` is the account id; the
    request id goes into the workflow's memo.

    Raises:
        Refused: ``not_logged_in``, ``wrong_role``/``out_of_scope``, ``bad_input`` naming the
            field, ``already_started``, ``temporal_unavailable``.
    """
    audit = Audited(
        engine, attempt, "process.start", target=process, district=district, community=community
    )
    with audit.checks():
        principal = audit.principal
        spec = registry.process(process)
        if principal.token is not None:
            raise Refused("wrong_role", "令牌不能发起流程 an API token cannot start processes")
        roles = principal.roles_at(district, community)
        if not roles:
            raise Refused(
                "out_of_scope",
                f"不在您的负责范围 {area_of(district, community)} is outside your area",
                field="community" if community else "district",
            )
        if not set(roles) & set(spec.start_roles):
            raise Refused(
                "wrong_role",
                f"您的角色不能发起此流程 your roles cannot start {process} "
                f"(needs one of: {', '.join(spec.start_roles)})",
            )
        prepared = prepare_start(
            registry,
            process=process,
            district=district,
            community=community,
            case_ref=case_ref,
            request=request,
            started_by=principal.staff_id,
            engine=engine,
            task_queue=task_queue,
        )
    audit.target = prepared.workflow_id
    connected = await audit.client(client)
    with audit.checks(
        inputs="already_started", label="流程已在运行", temporal="流程未发起 not started"
    ):
        started = await start_prepared(
            connected, prepared, task_queue=task_queue, request_id=attempt.request_id
        )
    audit.accepted()
    return started


def _acts_in(engine: Engine, principal: Principal, workflow_id: str) -> bool:
    """Whether one of a workflow's tasks is the principal's to see (a grid worker's visit in a
    district-wide campaign): who acts on a step may read the process it belongs to."""
    with Session(engine) as session:
        tasks = crud.list_tasks(session, workflow_id=workflow_id)
    return any(sees(principal, task) for task in tasks)


def _sent_by(engine: Engine, staff_id: str, workflow_id: str) -> bool:
    """Whether an account has had an event accepted into (or a process started as) a workflow."""
    with Session(engine) as session:
        row = session.exec(
            select(AuditEntry.id).where(
                AuditEntry.actor == staff_id,
                col(AuditEntry.action).in_(("event.send", "process.start")),
                AuditEntry.outcome == "accepted",
                AuditEntry.target == workflow_id,
            )
        ).first()
    return row is not None


async def process_view(
    client: ClientSource,
    engine: Engine,
    registry: PluginRegistry,
    attempt: Attempt,
    *,
    workflow_id: str,
) -> dict[str, Any]:
    """Status, stage, plan and timeline (tasks and case records, who and when) of a process.

    A person sees the processes of the areas their grants cover, and those with a task that is
    theirs to see; a partner system only the cases it has sent events to. Audited.

    Raises:
        Refused: ``not_logged_in``, ``unknown``, ``out_of_scope``, ``temporal_unavailable``.
    """
    audit = Audited(engine, attempt, "process.view", target=workflow_id)
    with audit.checks():
        principal = audit.principal
    connected = await audit.client(client)
    with audit.checks(
        inputs="unknown", label="没有这个流程", temporal="无法读取流程 cannot read the process"
    ):
        status = await process_status(connected, engine, workflow_id=workflow_id, registry=registry)
    district, community = status.get("district"), status.get("community")
    audit.district, audit.community = district, community
    with audit.checks():
        if principal.token is not None:
            allowed = district in principal.token.districts and _sent_by(
                engine, principal.staff_id, workflow_id
            )
        else:
            allowed = (isinstance(district, str) and principal.reads(district, community)) or (
                _acts_in(engine, principal, workflow_id)
            )
        if not allowed:
            raise Refused(
                "out_of_scope", "该流程不在您的负责范围 this process is outside your scope"
            )
    with Session(engine) as session:
        records = crud.list_case_records(session, workflow_id=workflow_id)
        tasks = crud.list_tasks(session, workflow_id=workflow_id)
    status["timeline"] = _timeline(tasks, records)
    audit.accepted()
    return status


def _timeline(tasks: Sequence[Task], records: Sequence[CaseRecord]) -> list[dict[str, Any]]:
    """Tasks (opened, closed, by whom) and case records, oldest first; ids and codes only."""
    entries: list[dict[str, Any]] = []
    for t in tasks:
        entries.append(
            {
                "at": t.opened_at.isoformat(),
                "kind": "task_opened",
                "task_id": t.task_id,
                "title_zh": t.title_zh,
                "role": t.role,
                "by": None,
            }
        )
        if t.closed_at is not None:
            entries.append(
                {
                    "at": t.closed_at.isoformat(),
                    "kind": f"task_{t.status}",
                    "task_id": t.task_id,
                    "title_zh": t.title_zh,
                    "role": t.completed_role,
                    "by": t.completed_by,
                }
            )
    for r in records:
        entries.append(
            {
                "at": r.created_at.isoformat(),
                "kind": r.kind,
                "step_key": r.step_key,
                "task_id": None,
                "title_zh": None,
                "role": None,
                "by": None,
            }
        )
    return sorted(entries, key=lambda e: e["at"])


def find_cases(engine: Engine, principal: Principal, *, case_ref: str) -> list[dict[str, Any]]:
    """Workflows of a case (from tasks and case records) in the principal's areas.

    Args:
        engine: The app database.
        principal: Who asks; only rows of areas their grants cover are listed.
        case_ref: A case ref (rows naming it), or a case key (``k…``, rows of the workflows
            whose id ends in it).

    Returns:
        One entry per workflow: id, process, district, community, the case ref its rows name
        and the case key its id holds (None for a process started before case keys).
    """
    found: dict[str, dict[str, Any]] = {}
    with Session(engine) as session:
        if is_case_key(case_ref):
            # The key is the last part of the workflow id: <process>-<district>-<key>.
            tasks = session.exec(select(Task).where(col(Task.workflow_id).endswith(f"-{case_ref}")))
            records = session.exec(
                select(CaseRecord).where(col(CaseRecord.workflow_id).endswith(f"-{case_ref}"))
            )
        else:
            tasks = session.exec(select(Task).where(Task.case_ref == case_ref))
            records = session.exec(select(CaseRecord).where(CaseRecord.case_ref == case_ref))
        rows = [(t.workflow_id, t.process, t.district, t.community, t.case_ref) for t in tasks]
        rows += [(r.workflow_id, r.process, r.district, None, r.case_ref) for r in records]
    for workflow_id, process, district, community, ref in rows:
        if workflow_id not in found and principal.reads(district, community):
            last = workflow_id.rsplit("-", 1)[-1]
            found[workflow_id] = {
                "workflow_id": workflow_id,
                "process": process,
                "district": district,
                "community": community,
                "case_ref": ref,
                "case_key": last if is_case_key(last) else None,
            }
    return sorted(found.values(), key=lambda c: c["workflow_id"])


def lookup_case(engine: Engine, attempt: Attempt, *, query: str) -> dict[str, Any]:
    """A case's key and its workflows in the principal's areas, from its case ref or key.

    Both ways: a registry id (``P00012``) gives the key the Temporal Web UI shows; a key seen
    there gives the workflows and the case refs their rows name. Audited (``case.lookup``,
    target the case key): the key maps to a person for whoever holds the database, so each
    look-up is on record. The person's name is a further step, ``process.unmask``.

    Raises:
        Refused: ``not_logged_in``; ``wrong_role`` for an API token; ``out_of_scope`` for an
            account without grants; ``bad_input`` naming ``case_ref`` for a malformed query.
    """
    audit = Audited(engine, attempt, "case.lookup")
    with audit.checks():
        principal = audit.principal
        if principal.token is not None:
            raise Refused("wrong_role", "令牌不能查询案件 an API token cannot look up cases")
        if not principal.grants:
            raise Refused("out_of_scope", "您没有任何负责区域 you hold no grant over any area")
        query = query.strip()
        if is_case_key(query):
            key = query
        else:
            key = default_pseudonyms().case_key(check_case_ref(query))
        audit.target = key
        cases = find_cases(engine, principal, case_ref=query)
    audit.accepted()
    return {"case_key": key, "cases": cases}
