"""``careflow event``: deliver a device or partner event to its process."""

from __future__ import annotations

from typing import Annotated

import typer

from careflow.cli.app import (
    CliState,
    cli_errors,
    database,
    echo_json,
    read_json,
    run_async,
    state,
    temporal_client,
)
from careflow.service import PreparedEvent, deliver_event, prepare_event

__all__ = ["event", "register"]

JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable JSON output.")]


async def _deliver(st: CliState, prepared: PreparedEvent) -> str:
    async with temporal_client(st.settings) as client:
        return await deliver_event(client, prepared, task_queue=st.settings.task_queue)


@cli_errors
def event(
    ctx: typer.Context,
    event_type: Annotated[str, typer.Argument(help="Event type, e.g. delivery.dropoff.")],
    data_file: Annotated[
        str, typer.Option("--data", help="JSON file with the event, or - for stdin.")
    ],
    as_json: JsonOption = False,
) -> None:
    """Route an event to its process, starting it if the route says so · 事件."""
    st = state(ctx)
    st.registry.route(event_type)  # an unknown type fails before the file is read
    data = read_json(data_file, field="data")
    # Validate before Temporal is contacted: bad events, ids the registry does not hold and
    # events the process would refuse exit 2 and reach no process. The event alone first, so
    # it is refused (2) even when the app database is missing or not migrated (1).
    prepare_event(st.registry, event_type=event_type, data=data)
    with database(st.settings) as engine:
        prepared = prepare_event(st.registry, event_type=event_type, data=data, engine=engine)
    workflow_id = run_async(_deliver(st, prepared))
    if as_json:
        echo_json({"event_type": event_type, "workflow_id": workflow_id})
        return
    typer.echo(workflow_id)
    typer.echo(f"已送达 delivered {event_type} → {workflow_id}", err=True)


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command("event")(event)
