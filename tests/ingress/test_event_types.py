"""Each device and partner event type through the broker reaches its process; a report that
came too early is a dead letter, replayed once its check runs; a type outside the token's
scope is refused, audited and dead-lettered."""

from __future__ import annotations

from datetime import date

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from careflow import service
from careflow.db.tables import AuditEntry, Pairing, Person
from ingress.replay import replay_dead_letter
from plugins.eldercare.green_channel.tables import GreenChannelBooking
from tests.ingress.support import Stack, dead_letters, new_root, publish, running_ingress, until
from tests.support.cases import case_ref_of, keyed_id
from tests.support.inbox import wait_for_task

CURTAIN = "xinghualing"
"""The demo district whose programme switches the curtain appointment on."""


def _paired(engine: Engine) -> tuple[str, str]:
    """(elder, volunteer) of a curtain pairing in Xinghualing."""
    with Session(engine) as session:
        row = session.exec(
            select(Person.id, Pairing.volunteer_id)
            .join(Pairing, col(Pairing.elder_id) == col(Person.id))
            .where(Pairing.kind == "curtain")
            .where(col(Person.community_code).startswith(f"{CURTAIN}."))
            .order_by(col(Person.id))
        ).first()
    assert row is not None
    return row[0], row[1]


HOSPITAL = "yingze"
"""A demo district whose green channel adds no step before triage."""


def _disabled_elder(engine: Engine) -> str:
    with Session(engine) as session:
        found = session.exec(
            select(Person.id)
            .where(Person.kind == "elder", Person.disability_level > 0)
            .where(col(Person.community_code).startswith(f"{HOSPITAL}."))
            .order_by(col(Person.id))
        ).first()
    assert found is not None
    return found


async def _client(stack: Stack):  # type: ignore[no-untyped-def]
    return stack.env.client


async def test_away_notice_report_and_hospital_response_reach_their_processes(
    stack: Stack,
) -> None:
    root = new_root()
    engine, client, queue = stack.engine, stack.env.client, stack.task_queue
    elder, volunteer = _paired(engine)
    day = date(2026, 12, 2)
    check_ref = f"{elder}.{day:%Y%m%d}"
    report = {
        "message_id": "phone-V-0001",
        "case_ref": check_ref,
        "curtains": "open",
        "reporter_ref": volunteer,
    }
    async with running_ingress(stack, root) as metrics:
        # An away notice starts its process (signal-with-start).
        await publish(
            root,
            [
                (
                    f"{CURTAIN}/eldercare.curtain_away",
                    {
                        "message_id": "family-0001",
                        "case_ref": f"away.{elder}",
                        "elder_ref": elder,
                        "away_from": "2026-12-20",
                        "away_until": "2026-12-24",
                        "filed_by": "family",
                    },
                )
            ],
        )
        await until(lambda: metrics.delivered == 1, timeout=60, what="the away notice")
        away = client.get_workflow_handle(
            keyed_id("eldercare.curtain_away", CURTAIN, f"away.{elder}")
        )
        assert (await away.result())["notice_id"] >= 1

        # A report for a check that is not running yet: no process to take it.
        await publish(root, [(f"{CURTAIN}/eldercare.curtain_report", report)])
        await until(lambda: metrics.dead_letters == 1, timeout=60, what="the early report")
        (letter,) = dead_letters(engine, root=root)
        assert (letter.reason, letter.field) == ("unknown", "case_ref")

        # Staff start the check; the operator replays the report, which completes it.
        started = await service.start_process(
            client,
            stack.registry,
            process="eldercare.curtain_check",
            district=CURTAIN,
            request={"elder_ref": elder, "volunteer_ref": volunteer, "day": day.isoformat()},
            started_by="staff:S0001",
            task_queue=queue,
            case_ref=check_ref,
        )
        await wait_for_task(engine, started.workflow_id, "check", timeout=30)
        assert letter.id is not None
        replayed = await replay_dead_letter(
            engine,
            stack.registry,
            letter_id=letter.id,
            token=stack.token,
            client=lambda: _client(stack),
            task_queue=queue,
        )
        assert replayed.workflow_id == started.workflow_id
        await wait_for_task(engine, started.workflow_id, "check", status="done", timeout=30)
        (letter,) = dead_letters(engine, root=root)
        assert letter.replayed_to == started.workflow_id and letter.attempts == 2
        # The same report sent again (the phone retries) changes nothing.
        await publish(root, [(f"{CURTAIN}/eldercare.curtain_report", report)])
        await until(lambda: metrics.duplicates == 1, timeout=60, what="the repeated report")

        # A partner hospital answers a green-channel booking through the broker.
        opened = await service.start_process(
            client,
            stack.registry,
            process="eldercare.green_channel",
            district=HOSPITAL,
            request={"elder_ref": _disabled_elder(engine), "source": "staff"},
            started_by="staff:S0001",
            task_queue=queue,
        )
        triage = await wait_for_task(engine, opened.workflow_id, "triage", timeout=30)
        await service.complete_task(
            client,
            engine,
            task_id=triage.task_id,
            actor="S0001",
            role="doctor",
            data={"level": "urgent"},
        )
        await wait_for_task(engine, opened.workflow_id, "booking.1.response", timeout=30)
        with Session(engine) as session:
            booking = session.exec(
                select(GreenChannelBooking.booking_ref).where(
                    GreenChannelBooking.workflow_id == opened.workflow_id
                )
            ).one()
        case_ref = await case_ref_of(client, opened.workflow_id)
        await publish(
            root,
            [
                (
                    f"{HOSPITAL}/eldercare.hospital_response",
                    {"case_ref": case_ref, "booking_ref": booking, "accepted": True},
                )
            ],
        )
        await until(lambda: metrics.delivered == 2, timeout=60, what="the hospital's answer")
        await wait_for_task(engine, opened.workflow_id, "transport", timeout=30)
        await client.get_workflow_handle(opened.workflow_id).terminate("test done")


async def test_an_event_type_outside_the_token_is_refused_and_audited(stack: Stack) -> None:
    root = new_root()
    elder, _ = _paired(stack.engine)
    async with running_ingress(stack, root) as metrics:
        await publish(
            root,
            [(f"{CURTAIN}/community_event.cancel", {"case_ref": "EV-1", "person_ref": elder})],
        )
        await until(lambda: metrics.dead_letters == 1, timeout=60, what="the refusal")
    (letter,) = dead_letters(stack.engine, root=root)
    assert (letter.reason, letter.field) == ("out_of_scope", "event_type")
    with Session(stack.engine) as session:
        (entry,) = session.exec(
            select(AuditEntry).where(AuditEntry.request_id == letter.event_id)
        ).all()
    assert (entry.outcome, entry.reason, entry.actor) == ("refused", "out_of_scope", "S-INGRESS")
