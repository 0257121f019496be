"""``careflow event``: deliver a device or partner event to its process."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from sqlalchemy.engine import Engine

from careflow.access import Attempt, actions
from careflow.service import prepare_event
from cli.acting import ActorOption, cli_attempt, connector, require_actor
from cli.app import (
    CliState,
    cli_errors,
    database,
    echo_json,
    read_json,
    run_async,
    state,
)

__all__ = ["event", "register"]

JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable JSON output.")]


async def _deliver(
    st: CliState, engine: Engine, attempt: Attempt, *, event_type: str, data: Any
) -> str:
    client = connector(st)
    return await actions.send_event(
        client,
        engine,
        st.registry,
        attempt,
        event_type=event_type,
        data=data,
        task_queue=st.settings.task_queue,
    )


@cli_errors
def event(
    ctx: typer.Context,
    event_type: Annotated[str, typer.Argument(help="Event type, e.g. delivery.dropoff.")],
    data_file: Annotated[
        str, typer.Option("--data", help="JSON file with the event, or - for stdin.")
    ],
    actor: ActorOption = None,
    as_json: JsonOption = False,
) -> None:
    """Route an event to its process as your account, starting it if the route says so · 事件.

    Your account must hold one of the route's sender roles over the event's area (partner
    systems send through the staff service's API with a token instead); audited.
    """
    st = state(ctx)
    st.registry.route(event_type)  # an unknown type fails before the file is read
    data = read_json(data_file, field="data")
    # Validate before Temporal is contacted: bad events, ids the registry does not hold and
    # events the process would refuse exit 2 and reach no process. The event alone first, so
    # it is refused (2) even when the app database is missing or not migrated (1).
    prepare_event(st.registry, event_type=event_type, data=data)
    actor_id = require_actor(actor)
    with database(st.settings) as engine:
        attempt = cli_attempt(engine, actor_id, action="event.send")
        workflow_id = run_async(_deliver(st, engine, attempt, event_type=event_type, data=data))
    if as_json:
        echo_json({"event_type": event_type, "workflow_id": workflow_id})
        return
    typer.echo(workflow_id)
    typer.echo(f"已送达 delivered {event_type} → {workflow_id}", err=True)


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command("event")(event)
