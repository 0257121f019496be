"""The account a CLI command acts as, and a Temporal client whose failure is audited too.

The CLI is a channel like the console and the API: a command that acts (start, complete a
task, send an event) names an existing, active account with ``--actor`` (or
``CAREFLOW_ACTOR``), and :mod:`careflow.access.actions` checks that account's grants and
audits the attempt with channel ``cli``. Roles are never taken from the command line.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

import typer
from sqlalchemy.engine import Engine
from sqlmodel import Session
from temporalio.client import Client

from careflow.access import Attempt, Refused, new_request_id, record
from careflow.access.accounts import account_id, load_principal
from careflow.errors import InputError
from careflow.inputs import check_id
from cli.app import CliState, temporal_reachable

__all__ = ["ActorOption", "cli_attempt", "connector", "require_actor"]

ActorOption = Annotated[
    str | None,
    typer.Option(
        "--actor",
        envvar="CAREFLOW_ACTOR",
        help="The account you act as: staff id or username (S0009, "
        "wanbailin.wanghua.jiusi-grid_worker); its grants decide, and the attempt is audited "
        "under it. Default: CAREFLOW_ACTOR.",
    ),
]


def require_actor(actor: str | None) -> str:
    """The ``--actor`` given, well formed.

    Raises:
        InputError: None given, or not an id.
    """
    if actor is None or not actor.strip():
        raise InputError(
            "actor", "name the account you act as: --actor STAFF_ID (or set CAREFLOW_ACTOR)"
        )
    return check_id("actor", actor, max_length=64)


def cli_attempt(engine: Engine, actor: str, *, action: str) -> Attempt:
    """The attempt of a CLI command acting as ``actor``.

    Raises:
        Refused: ``unknown`` or ``inactive`` account (audited under what was given).
    """
    request_id = new_request_id()
    try:
        with Session(engine) as session:
            principal = load_principal(session, account_id(session, actor))
    except Refused as refusal:
        attempt = Attempt(principal=None, channel="cli", request_id=request_id, claimed=actor)
        record(
            engine,
            attempt,
            action=action,
            outcome="refused",
            reason=refusal.reason,
            message=refusal.message,
        )
        raise
    return Attempt(principal=principal, channel="cli", request_id=request_id)


def connector(st: CliState) -> Callable[[], Awaitable[Client]]:
    """How an action gets its Temporal client: connected only when it asks, after every local
    check passed (so bad input is refused while Temporal is down), at most once.

    The action audits a failed connect; the error is the CLI's own (exit 1, one line).
    """
    from careflow.temporal import connect

    made: list[Client] = []

    async def client() -> Client:
        if not made:
            with temporal_reachable(st.settings):
                made.append(await connect(st.settings))
        return made[0]

    return client
