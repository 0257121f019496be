"""``careflow audit``: who did what, accepted or refused, from the append-only audit trail."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated

import typer
from sqlmodel import Session

from careflow.access.audit import list_audit
from careflow.db.tables import AuditEntry
from careflow.errors import InputError
from careflow.localtime import STAFF_TIMEZONE, local_minute
from cli.app import cli_errors, database, echo_json, echo_lines, state

__all__ = ["audit", "describe_entry", "register"]

JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable JSON output.")]


class OutcomeView(StrEnum):
    """Which attempts to show."""

    ACCEPTED = "accepted"
    REFUSED = "refused"
    FAILED = "failed"


class ChannelView(StrEnum):
    """How attempts arrived."""

    CONSOLE = "console"
    API = "api"
    CLI = "cli"


def _when(value: str | None, field: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InputError(field, f"not an ISO date or time: {value!r} (e.g. 2026-12-01)") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=STAFF_TIMEZONE)  # people give local times
    return parsed.astimezone(UTC)


def describe_entry(row: AuditEntry) -> dict[str, object]:
    """An audit row for ``--json`` (UTC ISO times)."""
    return {
        "id": row.id,
        "at": row.at.isoformat(),
        "request_id": row.request_id,
        "actor": row.actor,
        "channel": row.channel,
        "action": row.action,
        "target": row.target,
        "district": row.district,
        "community": row.community,
        "outcome": row.outcome,
        "reason": row.reason,
        "message": row.message,
    }


@cli_errors
def audit(
    ctx: typer.Context,
    actor: Annotated[str | None, typer.Option(help="Account id (or the username tried).")] = None,
    action: Annotated[
        str | None, typer.Option(help="e.g. task.complete, auth.login, event.send.")
    ] = None,
    outcome: Annotated[
        OutcomeView | None, typer.Option(help="accepted, refused or failed.")
    ] = None,
    channel: Annotated[ChannelView | None, typer.Option(help="console, api or cli.")] = None,
    district: Annotated[str | None, typer.Option("--district", "-d")] = None,
    target: Annotated[str | None, typer.Option(help="A task id, workflow id or account.")] = None,
    since: Annotated[
        str | None, typer.Option(help="From (local time, ISO), e.g. 2026-12-01.")
    ] = None,
    until: Annotated[str | None, typer.Option(help="Before (local time, ISO).")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 100,
    as_json: JsonOption = False,
) -> None:
    """Every attempt, accepted or refused, newest first · 审计记录."""
    st = state(ctx)
    if district is not None:
        st.registry.check_district(district)
    start, end = _when(since, "since"), _when(until, "until")
    with database(st.settings) as engine, Session(engine) as session:
        rows = list_audit(
            session,
            viewer=None,
            actor=actor,
            action=action,
            outcome=outcome.value if outcome else None,
            channel=channel.value if channel else None,
            district=district,
            target=target,
            since=start,
            until=end,
            limit=limit,
        )
    if as_json:
        echo_json([describe_entry(row) for row in rows])
        return
    echo_lines(
        [
            f"{local_minute(row.at)} {row.outcome:<8} {row.channel:<7} {row.actor} "
            f"{row.action} {row.target or '-'}"
            + (f" · {row.reason}: {row.message}" if row.reason else "")
            for row in rows
        ]
        or ["没有记录 no audit rows"]
    )


def register(app: typer.Typer) -> None:
    """Add ``audit`` to ``app``."""
    app.command("audit")(audit)
