"""``careflow case-key``: from a case ref to the pseudonym the Temporal Web UI shows, and back.

Workflow ids and ``CareCaseRef`` hold a case's keyed pseudonym (``k…``), never its registry id
(:mod:`careflow.privacy.pseudonyms`). A supervisor who sees a key in the Web UI, or who holds
a registry id and wants its processes there, asks here as their own account: the look-up is
audited (``case.lookup``) and lists only workflows of the areas the account's grants cover.
The person's name is one more, audited step: ``process.unmask`` in the console.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from careflow.access import actions
from cli.acting import ActorOption, cli_attempt, require_actor
from cli.app import cli_errors, database, echo_json, echo_lines, state

__all__ = ["case_key", "register"]

JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable JSON output.")]


def _lines(found: dict[str, Any]) -> list[str]:
    lines = [f"案件化名 case key: {found['case_key']}"]
    cases = found["cases"]
    if not cases:
        lines.append("  您负责的区域内没有此案件的流程 no workflows of this case in your areas")
    for case in cases:
        where = case["district"] + (f"/{case['community']}" if case.get("community") else "")
        lines.append(
            f"  流程 workflow {case['workflow_id']} · {case['process']} · 区 {where} "
            f"· 案件 case {case['case_ref']}"
        )
    return lines


@cli_errors
def case_key(
    ctx: typer.Context,
    case: Annotated[
        str,
        typer.Argument(
            help="A case ref (registry id such as P00012, or a case number) or a case key (k…)."
        ),
    ],
    actor: ActorOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show a case's key and its workflows in your areas (audited) · 案件化名查询.

    Give a registry id to find the key the Temporal Web UI shows, or a key seen there to find
    the case's workflows and the case ref their records name.
    """
    st = state(ctx)
    actor_id = require_actor(actor)
    with database(st.settings) as engine:
        attempt = cli_attempt(engine, actor_id, action="case.lookup")
        found = actions.lookup_case(engine, attempt, query=case)
    if as_json:
        echo_json(found)
        return
    echo_lines(_lines(found))


def register(app: typer.Typer) -> None:
    """Add this module's command to ``app``."""
    app.command("case-key")(case_key)
