"""``careflow consent``: record, withdraw and list consents 同意登记, as your account.

Like the console's 同意登记 pages, every command acts as ``--actor`` through
:mod:`careflow.access.actions.consent`: the account's grants must cover the child's community
(community staff, district admins; auditors list), and each attempt is audited. A refusal
exits 2 naming the field (``subject_id``, ``purpose``, ``granted_by``, ``relation``,
``granted_on``, ``evidence_ref``) and writes nothing. A withdrawal tells the running processes
of the purpose; with Temporal down it still stands (and says so).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer

from careflow.access.actions import ConsentView, list_consents, record_consent, withdraw_consent
from careflow.errors import InputError
from careflow.localtime import local_minute
from careflow.privacy.consent import PURPOSES, RELATIONS
from cli.acting import ActorOption, cli_attempt, connector, require_actor
from cli.app import cli_errors, database, echo_json, echo_lines, run_async, state

__all__ = ["consent_app", "describe_consent", "register"]

JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable JSON output.")]
PurposeOption = Annotated[
    str,
    typer.Option(
        "--purpose",
        help="What the data is used for: "
        + ", ".join(f"{c} {p.title_zh}" for c, p in PURPOSES.items()),
    ),
]
SubjectArgument = Annotated[str, typer.Argument(help="Registry id of the person (P…).")]

consent_app = typer.Typer(
    help="Consent to use a child's (or an elder's) data · 同意登记.", no_args_is_help=True
)


def _day(value: str, field: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InputError(
            field, f"not a date: {value!r} (e.g. 2026-12-01) · 日期格式应为 年-月-日"
        ) from None


def describe_consent(view: ConsentView) -> dict[str, object]:
    """A consent for ``--json`` (UTC ISO times, registry ids and codes only)."""
    return view.model_dump(mode="json")


def _line(view: ConsentView) -> str:
    state_zh = "有效 live" if view.live else f"已撤回 withdrawn {local_minute(view.withdrawn_at)}"
    return (
        f"#{view.id} {view.subject_id} {view.purpose_zh} {view.purpose} · "
        f"{view.relation_zh} {view.granted_by} · 签署 {view.granted_on} · {state_zh}"
    )


@cli_errors
def record(
    ctx: typer.Context,
    subject_id: SubjectArgument,
    purpose: PurposeOption,
    granted_by: Annotated[
        str,
        typer.Option(
            "--granted-by",
            help="Who consented: a registered guardian (P…), or the "
            "subject themself from the 14th birthday.",
        ),
    ],
    relation: Annotated[
        str,
        typer.Option(
            help="self, or the guardian's relation as registered: "
            + ", ".join(f"{c} {zh}" for c, zh in RELATIONS.items())
        ),
    ],
    granted_on: Annotated[
        str, typer.Option("--granted-on", help="Day the form was signed (YYYY-MM-DD).")
    ],
    evidence: Annotated[
        str | None,
        typer.Option(
            "--evidence", help="Reference of the signed form (no name, phone or ID number)."
        ),
    ] = None,
    actor: ActorOption = None,
    as_json: JsonOption = False,
) -> None:
    """Record a consent · 登记同意."""
    st = state(ctx)
    day = _day(granted_on, "granted_on")
    actor_id = require_actor(actor)
    with database(st.settings) as engine:
        attempt = cli_attempt(engine, actor_id, action="consent.record")
        view = record_consent(
            engine,
            attempt,
            subject_id=subject_id,
            purpose=purpose,
            granted_by=granted_by,
            relation=relation,
            granted_on=day,
            evidence_ref=evidence,
        )
    if as_json:
        echo_json(describe_consent(view))
        return
    typer.echo(f"已登记同意 consent recorded: {_line(view)}")


@cli_errors
def withdraw(
    ctx: typer.Context,
    subject_id: SubjectArgument,
    purpose: PurposeOption,
    actor: ActorOption = None,
    as_json: JsonOption = False,
) -> None:
    """Withdraw a consent and stop its use in running processes · 撤回同意."""
    st = state(ctx)
    actor_id = require_actor(actor)
    with database(st.settings) as engine:
        attempt = cli_attempt(engine, actor_id, action="consent.withdraw")
        done = run_async(
            withdraw_consent(connector(st), engine, attempt, subject_id=subject_id, purpose=purpose)
        )
    if as_json:
        echo_json(done.model_dump(mode="json"))
        return
    echo_lines([done.message, _line(done.consent), *(f"  → {w}" for w in done.told)])


@cli_errors
def list_(
    ctx: typer.Context,
    subject: Annotated[str | None, typer.Option("--subject", help="Only this person (P…).")] = None,
    area: Annotated[
        str | None, typer.Option("--area", help="A district, street or community code.")
    ] = None,
    purpose: Annotated[str | None, typer.Option("--purpose", help="Only this purpose.")] = None,
    live: Annotated[bool, typer.Option("--live", help="Leave out withdrawn consents.")] = False,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 100,
    actor: ActorOption = None,
    as_json: JsonOption = False,
) -> None:
    """Consents of the people in your areas, newest first · 同意记录."""
    st = state(ctx)
    actor_id = require_actor(actor)
    with database(st.settings) as engine:
        attempt = cli_attempt(engine, actor_id, action="consent.list")
        views = list_consents(
            engine,
            attempt,
            subject_id=subject,
            area=area,
            purpose=purpose,
            live_only=live,
            limit=limit,
        )
    if as_json:
        echo_json([describe_consent(v) for v in views])
        return
    echo_lines([_line(v) for v in views] or ["没有同意记录 no consents"])


def purposes() -> None:
    """The purposes consent is recorded for · 用途."""
    echo_lines(
        [
            f"{p.code:<18} {p.title_zh} {p.title_en} ({'/'.join(sorted(p.subject_kinds))})"
            for p in PURPOSES.values()
        ]
    )


def register(app: typer.Typer) -> None:
    """Add the ``consent`` group to ``app``."""
    consent_app.command("record")(record)
    consent_app.command("withdraw")(withdraw)
    consent_app.command("list")(list_)
    consent_app.command("purposes")(purposes)
    app.add_typer(consent_app, name="consent")
