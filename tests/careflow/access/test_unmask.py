"""Unmasking one record with a stated reason: who may, what they see, and the audit row.

The task here is a community-staff task of 兴华社区 about an elder of the demo registry, whose
context view shows the elder's name and phone and a health reading: enough to tell apart what
the task's holder, a district admin, a doctor and an auditor may see in clear.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import BaseModel
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from careflow.access import Attempt, Grant, Principal, TokenScope
from careflow.access.actions import unmask_process, unmask_task, view_task
from careflow.access.actions.unmask import (
    REASON_MAX,
    UNMASK_ROLES,
    check_reason,
    subject_of_process,
)
from careflow.access.refusals import Refused
from careflow.contract import CarePlugin, TaskType
from careflow.db.tables import AuditEntry, CaseRecord, Person, Task
from careflow.forms import form_ref
from careflow.privacy.masking import mask_id_number, mask_name, mask_phone
from careflow.registry import PluginRegistry
from careflow.task_context import ContextItem, person_items

XINGHUA = "wanbailin.xinghua.xinghua"
JIUSI = "wanbailin.wanghua.jiusi"
ELDER = "P00012"  # an elder of 兴华社区 in the demo registry
READING = ["血压 blood pressure 168/99 mmHg"]


class VisitNote(BaseModel):
    """The form of the test task."""

    note: str = ""


def _view(session: Session, task: Task) -> list[ContextItem]:
    return [
        *person_items(session, ELDER, who_zh="老人", who_en="elder"),
        ContextItem(label_zh="读数", label_en="reading", value=READING, personal="health"),
        ContextItem(label_zh="社区", label_en="community", value="兴华社区"),
    ]


@pytest.fixture
def registry() -> PluginRegistry:
    plugin = CarePlugin(
        name="visits",
        version="1.0.0",
        title_zh="随访",
        title_en="Visits",
        task_types=(TaskType(form=VisitNote, context=_view),),
    )
    return PluginRegistry.build([plugin])


def _add_task(
    engine: Engine, *, role: str = "community_staff", task_id: str = "T00000000a001"
) -> str:
    now = datetime.now(UTC)
    with Session(engine) as session:
        session.add(
            Task(
                task_id=task_id,
                workflow_id=f"visits.follow_up-wanbailin-{task_id}",
                step_key="visit",
                process="visits.follow_up",
                module="visits",
                district="wanbailin",
                community=XINGHUA,
                case_ref=f"{ELDER}.{task_id}",
                role=role,
                title_zh="随访",
                title_en="Follow-up",
                form_ref=form_ref(VisitNote),
                due_at=now + timedelta(days=1),
                opened_at=now,
            )
        )
        session.commit()
    return task_id


def _elder(engine: Engine) -> Person:
    with Session(engine) as session:
        person = session.get(Person, ELDER)
        assert person is not None and person.community_code == XINGHUA and person.phone
        return person


def _principal(*grants: tuple[str, str], token: bool = False) -> Principal:
    scope = (
        TokenScope(
            token_id="tk1",
            event_types=frozenset({"delivery.dropoff"}),
            districts=frozenset({"wanbailin"}),
            expires_at=datetime.now(UTC) + timedelta(days=1),
        )
        if token
        else None
    )
    return Principal(
        staff_id="S9001",
        name="测试",
        kind="system" if token else "person",
        grants=tuple(Grant(role, area) for role, area in grants),
        token=scope,
    )


def _attempt(principal: Principal | None, request_id: str = "r-unmask") -> Attempt:
    return Attempt(principal=principal, channel="cli", request_id=request_id)


def _rows(engine: Engine, action: str) -> list[AuditEntry]:
    with Session(engine) as session:
        return list(
            session.exec(
                select(AuditEntry).where(AuditEntry.action == action).order_by(col(AuditEntry.id))
            ).all()
        )


def _values(items: list[ContextItem]) -> dict[str, object]:
    return {i.label_en: i.value for i in items}


STAFF = ("community_staff", XINGHUA)


def test_the_holder_sees_it_masked_then_in_full_for_one_request(
    seeded_engine: Engine, registry: PluginRegistry
) -> None:
    elder = _elder(seeded_engine)
    task_id = _add_task(seeded_engine)
    staff = _principal(STAFF)

    seen = view_task(seeded_engine, registry, _attempt(staff), task_id=task_id)
    assert seen.unmasked is False and seen.may_unmask is True and seen.may_complete is True
    assert _values(seen.context) == {
        "elder": mask_name(elder.name),
        "elder phone": mask_phone(elder.phone or ""),
        "reading": "已隐藏",
        "community": "兴华社区",
    }

    full = unmask_task(
        seeded_engine,
        registry,
        _attempt(staff, "r-full"),
        task_id=task_id,
        reason="  电话回访前核对\n老人身份  ",
    )
    assert full.unmasked is True and full.may_complete is True
    assert _values(full.context) == {
        "elder": elder.name,
        "elder phone": elder.phone,
        "reading": READING,  # the person who acts on the task sees all of it
        "community": "兴华社区",
    }
    [row] = _rows(seeded_engine, "task.unmask")
    assert (row.outcome, row.target, row.community, row.district) == (
        "accepted",
        task_id,
        XINGHUA,
        "wanbailin",
    )
    assert (row.actor, row.request_id, row.channel) == (staff.staff_id, "r-full", "cli")
    assert row.message == "电话回访前核对 老人身份"  # the reason, trimmed to one line
    assert row.reason == "health,name,phone"  # the kinds shown in clear

    # Nothing stays unmasked: the next view is masked again.
    again = view_task(seeded_engine, registry, _attempt(staff), task_id=task_id)
    assert _values(again.context)["elder"] == mask_name(elder.name)


def test_a_district_admin_sees_names_but_not_health(
    seeded_engine: Engine, registry: PluginRegistry
) -> None:
    elder = _elder(seeded_engine)
    task_id = _add_task(seeded_engine)
    admin = _principal(("district_admin", "wanbailin"))
    assert view_task(seeded_engine, registry, _attempt(admin), task_id=task_id).may_unmask
    full = unmask_task(seeded_engine, registry, _attempt(admin), task_id=task_id, reason="核查投诉")
    values = _values(full.context)
    assert values["elder"] == elder.name and values["elder phone"] == elder.phone
    assert values["reading"] == "已隐藏"
    assert full.may_complete is False  # it is community staff's task
    assert _rows(seeded_engine, "task.unmask")[-1].reason == "name,phone"


def test_a_doctor_holding_the_task_sees_the_reading(
    seeded_engine: Engine, registry: PluginRegistry
) -> None:
    task_id = _add_task(seeded_engine, role="doctor")
    doctor = _principal(("doctor", "wanbailin.xinghua"))
    full = unmask_task(seeded_engine, registry, _attempt(doctor), task_id=task_id, reason="复诊")
    assert _values(full.context)["reading"] == READING
    assert UNMASK_ROLES["health"] == frozenset({"doctor"})


@pytest.mark.parametrize(
    ("reason", "says"),
    [
        (None, "请填写"),
        ("", "请填写"),
        ("   \n\t ", "请填写"),
        ("理" * (REASON_MAX + 1), f"最多 {REASON_MAX} 个字符"),
        ("核对\u202e身份", "控制字符"),
    ],
)
def test_no_reason_no_unmask(
    seeded_engine: Engine, registry: PluginRegistry, reason: str | None, says: str
) -> None:
    task_id = _add_task(seeded_engine)
    with pytest.raises(Refused) as refused:
        unmask_task(
            seeded_engine, registry, _attempt(_principal(STAFF)), task_id=task_id, reason=reason
        )
    assert refused.value.reason == "bad_input" and refused.value.field == "reason"
    assert says in refused.value.message and refused.value.status == 422
    [row] = _rows(seeded_engine, "task.unmask")
    assert (row.outcome, row.reason, row.target, row.community) == (
        "refused",
        "bad_input",
        task_id,
        XINGHUA,
    )


@pytest.mark.parametrize(
    ("principal", "refusal", "field"),
    [
        (_principal(("auditor", "taiyuan")), "read_only", None),
        (_principal(("community_staff", JIUSI)), "out_of_scope", "task_id"),
        (_principal(("grid_worker", XINGHUA)), "wrong_role", "task_id"),
        (_principal(("volunteer", XINGHUA), ("auditor", "wanbailin")), "wrong_role", None),
        (_principal(("district_admin", "wanbailin"), token=True), "wrong_role", None),
        (None, "not_logged_in", None),
    ],
    ids=["auditor", "other_community", "other_role", "volunteer", "token", "anonymous"],
)
def test_who_may_not_unmask_is_refused_and_audited(
    seeded_engine: Engine,
    registry: PluginRegistry,
    principal: Principal | None,
    refusal: str,
    field: str | None,
) -> None:
    task_id = _add_task(seeded_engine)
    with pytest.raises(Refused) as refused:
        unmask_task(seeded_engine, registry, _attempt(principal), task_id=task_id, reason="想看看")
    assert (refused.value.reason, refused.value.field) == (refusal, field)
    assert refused.value.status in (401, 403)
    [row] = _rows(seeded_engine, "task.unmask")
    assert (row.outcome, row.reason, row.target) == ("refused", refusal, task_id)


def test_an_unknown_task_is_refused(seeded_engine: Engine, registry: PluginRegistry) -> None:
    with pytest.raises(Refused) as refused:
        unmask_task(
            seeded_engine,
            registry,
            _attempt(_principal(STAFF)),
            task_id="T000000000000",
            reason="核对",
        )
    assert (refused.value.reason, refused.value.field) == ("unknown", "task_id")
    assert [r.outcome for r in _rows(seeded_engine, "task.unmask")] == ["refused"]


def test_check_reason_keeps_a_good_reason() -> None:
    assert check_reason("上门前核对地址 check the address before the visit") == (
        "上门前核对地址 check the address before the visit"
    )


# --- the person a process is about ---------------------------------------------------------


def _add_records(engine: Engine, workflow_id: str, *refs: str) -> None:
    with Session(engine) as session:
        for n, ref in enumerate(refs):
            session.add(
                CaseRecord(
                    workflow_id=workflow_id,
                    step_key=f"step.{n}",
                    process="visits.follow_up",
                    district="wanbailin",
                    case_ref="C2603000001",
                    kind="visit_requested",
                    data={"elder_ref": ref},
                )
            )
        session.commit()


def test_a_process_subject_is_masked_and_unmasked_with_a_reason(seeded_engine: Engine) -> None:
    elder = _elder(seeded_engine)
    workflow_id = "visits.follow_up-wanbailin-C2603000001"
    _add_records(seeded_engine, workflow_id, ELDER, ELDER)
    staff = _principal(STAFF)

    masked = subject_of_process(seeded_engine, staff, workflow_id=workflow_id)
    assert masked is not None and masked.may_unmask and not masked.clear
    assert _values(masked.items) == {
        "name": mask_name(elder.name),
        "ID number": mask_id_number(elder.id_number),
        "phone": mask_phone(elder.phone or ""),
        "address": masked.items[3].value,
    }
    assert elder.address and elder.address not in str(masked.items)
    assert str(masked.items[3].value).endswith("****")
    auditor = subject_of_process(
        seeded_engine, _principal(("auditor", "taiyuan")), workflow_id=workflow_id
    )
    assert auditor is not None and auditor.may_unmask is False

    full = unmask_process(
        seeded_engine, _attempt(staff, "r-person"), workflow_id=workflow_id, reason="核对身份"
    )
    assert _values(full.items) == {
        "name": elder.name,
        "ID number": elder.id_number,
        "phone": elder.phone,
        "address": elder.address,
    }
    assert full.clear == {"name", "id_number", "phone", "address"}
    assert full.request_id == "r-person"
    [row] = _rows(seeded_engine, "process.unmask")
    assert (row.outcome, row.target, row.community, row.message, row.reason) == (
        "accepted",
        workflow_id,
        XINGHUA,
        "核对身份",
        "address,id_number,name,phone",
    )
    # Nothing stays unmasked.
    after = subject_of_process(seeded_engine, staff, workflow_id=workflow_id)
    assert after is not None and _values(after.items)["name"] == mask_name(elder.name)


@pytest.mark.parametrize(
    ("principal", "reason", "refusal", "field"),
    [
        (_principal(("auditor", "taiyuan")), "核对", "read_only", None),
        (_principal(("community_staff", JIUSI)), "核对", "out_of_scope", "workflow_id"),
        (_principal(("grid_worker", XINGHUA)), "核对", "wrong_role", None),
        (_principal(STAFF), " ", "bad_input", "reason"),
    ],
    ids=["auditor", "other_community", "grid_worker", "no_reason"],
)
def test_a_process_subject_refusals_are_audited(
    seeded_engine: Engine,
    principal: Principal,
    reason: str,
    refusal: str,
    field: str | None,
) -> None:
    workflow_id = "visits.follow_up-wanbailin-C2603000002"
    _add_records(seeded_engine, workflow_id, ELDER)
    with pytest.raises(Refused) as refused:
        unmask_process(seeded_engine, _attempt(principal), workflow_id=workflow_id, reason=reason)
    assert (refused.value.reason, refused.value.field) == (refusal, field)
    [row] = _rows(seeded_engine, "process.unmask")
    assert (row.outcome, row.reason, row.target) == ("refused", refusal, workflow_id)


def test_a_process_about_many_people_has_no_subject(seeded_engine: Engine) -> None:
    with Session(seeded_engine) as session:
        others = session.exec(
            select(Person.id).where(Person.community_code == XINGHUA, Person.id != ELDER)
        ).first()
    assert others is not None
    workflow_id = "visits.event-wanbailin-C2603000003"
    _add_records(seeded_engine, workflow_id, ELDER, others)
    assert subject_of_process(seeded_engine, _principal(STAFF), workflow_id=workflow_id) is None
    with pytest.raises(Refused) as refused:
        unmask_process(
            seeded_engine, _attempt(_principal(STAFF)), workflow_id=workflow_id, reason="核对"
        )
    assert (refused.value.reason, refused.value.field) == ("unknown", "workflow_id")
    assert [r.reason for r in _rows(seeded_engine, "process.unmask")] == ["unknown"]
