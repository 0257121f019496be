"""``careflow staff``: accounts, area grants and API tokens, managed by the operator.

These commands need the app database's credentials, so they are the operator's (the person
who could write the database anyway); each change is audited with channel ``cli`` and actor
``operator:<login name>``.
"""

from __future__ import annotations

import getpass
import sys
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import typer

from careflow.access import Attempt, accounts, new_request_id, record
from careflow.access.scope import district_of
from careflow.db.engine import session_scope
from careflow.errors import InputError
from careflow.localtime import local_minute
from careflow.roles import role_spec
from cli.app import cli_errors, database, echo_json, echo_lines, state

__all__ = ["register"]

JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable JSON output.")]
RoleOption = Annotated[str, typer.Option("--role", help="A role, e.g. grid_worker.")]
AreaOption = Annotated[
    str, typer.Option("--area", help="taiyuan, a district, street or community code.")
]

staff_app = typer.Typer(help="Accounts, grants and API tokens · 账号与授权.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens of partner systems · 接口令牌.", no_args_is_help=True)


def _operator() -> Attempt:
    try:
        who = getpass.getuser()
    except OSError:
        who = "unknown"
    return Attempt(
        principal=None, channel="cli", request_id=new_request_id(), claimed=f"operator:{who}"
    )


def _read_password(from_stdin: bool) -> str | None:
    if not from_stdin:
        return None
    password = sys.stdin.readline().rstrip("\n")
    if not password:
        raise InputError("password", "no password on stdin")
    return password


@cli_errors
def add(
    ctx: typer.Context,
    staff_id: Annotated[str, typer.Argument(help="New account id, e.g. S0500.")],
    username: Annotated[str, typer.Option(help="Login name.")],
    name: Annotated[str, typer.Option(help="The person's (or system's) name.")],
    role: RoleOption,
    district: Annotated[str, typer.Option("--district", "-d", help="Home district.")],
    community: Annotated[str | None, typer.Option(help="Home community.")] = None,
    area: Annotated[
        str | None, typer.Option("--area", help="Grant ROLE over this area at once.")
    ] = None,
    system: Annotated[
        bool, typer.Option("--system", help="A partner system, not a person.")
    ] = False,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Create an account (and optionally its first grant) · 新建账号."""
    st = state(ctx)
    password = _read_password(password_stdin)
    attempt = _operator()
    with database(st.settings) as engine:
        with session_scope(engine) as session:
            row = accounts.add_account(
                session,
                staff_id=staff_id,
                username=username,
                name=name,
                role=role,
                district=district,
                community=community,
                kind="system" if system else "person",
                password=password,
            )
            if area is not None:
                accounts.grant_role(
                    session, staff_id=staff_id, role=role, area=area, by=attempt.actor
                )
        record(
            engine,
            attempt,
            action="staff.add",
            outcome="accepted",
            target=staff_id,
            district=district,
            community=community,
        )
    if as_json:
        echo_json({"staff_id": row.id, "username": row.username, "kind": row.kind})
        return
    typer.echo(f"已创建账号 account created: {row.id} ({row.username})")


def _change_grant(ctx: typer.Context, staff_id: str, role: str, area: str, *, revoke: bool) -> None:
    st = state(ctx)
    attempt = _operator()
    with database(st.settings) as engine:
        with session_scope(engine) as session:
            if revoke:
                accounts.revoke_role(session, staff_id=staff_id, role=role, area=area)
            else:
                accounts.grant_role(
                    session, staff_id=staff_id, role=role, area=area, by=attempt.actor
                )
        record(
            engine,
            attempt,
            action="staff.revoke" if revoke else "staff.grant",
            outcome="accepted",
            target=f"{staff_id}:{role}@{area}",
            district=district_of(area),
        )
    if revoke:
        typer.echo(f"已撤销 revoked {role}@{area} from {staff_id}")
    else:
        typer.echo(f"已授权 granted {role}@{area} to {staff_id}")


@cli_errors
def grant(
    ctx: typer.Context,
    staff_id: Annotated[str, typer.Argument(help="Account id.")],
    role: RoleOption,
    area: AreaOption,
) -> None:
    """Give an account a role over an area (and everything under it) · 授权."""
    _change_grant(ctx, staff_id, role, area, revoke=False)


@cli_errors
def revoke(
    ctx: typer.Context,
    staff_id: Annotated[str, typer.Argument(help="Account id.")],
    role: RoleOption,
    area: AreaOption,
) -> None:
    """Revoke a grant; it takes effect at the account's next request · 撤销授权."""
    _change_grant(ctx, staff_id, role, area, revoke=True)


@cli_errors
def passwd(
    ctx: typer.Context,
    staff_id: Annotated[str, typer.Argument(help="Account id.")],
) -> None:
    """Set an account's password, read from stdin (and lift a lockout) · 设置密码."""
    st = state(ctx)
    password = _read_password(True)
    assert password is not None
    attempt = _operator()
    with database(st.settings) as engine:
        with session_scope(engine) as session:
            accounts.set_password(session, staff_id=staff_id, password=password)
        record(engine, attempt, action="staff.password", outcome="accepted", target=staff_id)
    typer.echo(f"已设置密码 password set for {staff_id}")


def _grant_label(grant: str) -> str:
    """``grid_worker@<area> 网格员``; a role no loaded plugin declares shows its code only."""
    spec = role_spec(grant.split("@")[0])
    return f"{grant} {spec.title_zh}" if spec is not None else grant


@cli_errors
def list_(
    ctx: typer.Context,
    district: Annotated[str | None, typer.Option("--district", "-d")] = None,
    as_json: JsonOption = False,
) -> None:
    """Accounts with their live grants · 账号列表."""
    st = state(ctx)
    with database(st.settings) as engine, session_scope(engine) as session:
        rows: list[dict[str, Any]] = [
            {
                "staff_id": staff.id,
                "username": staff.username,
                "kind": staff.kind,
                "active": staff.active,
                "grants": [f"{g.role}@{g.area}" for g in accounts.grants_of(session, staff.id)],
            }
            for staff in accounts.list_accounts(session, district=district)
        ]
    if as_json:
        echo_json(rows)
        return
    lines = []
    for row in rows:
        titles = ", ".join(_grant_label(g) for g in row["grants"])
        off = "" if row["active"] else " 已停用 disabled"
        lines.append(f"{row['staff_id']} {row['username']} [{row['kind']}{off}] {titles or '-'}")
    echo_lines(lines or ["没有账号 no accounts"])


@cli_errors
def token_issue(
    ctx: typer.Context,
    staff_id: Annotated[str, typer.Argument(help="The partner system's account id.")],
    name: Annotated[str, typer.Option(help="What the token is for, e.g. xhl-hospital-desk.")],
    event_type: Annotated[
        list[str], typer.Option("--event-type", help="An event type it may send (repeatable).")
    ],
    district: Annotated[
        list[str], typer.Option("--district", "-d", help="A district it may send to (repeatable).")
    ],
    days: Annotated[int, typer.Option(min=1, max=730, help="Days until it expires.")] = 90,
    as_json: JsonOption = False,
) -> None:
    """Issue an API token; the secret is printed once and stored only hashed · 签发令牌."""
    st = state(ctx)
    attempt = _operator()
    expires = datetime.now(UTC) + timedelta(days=days)
    with database(st.settings) as engine:
        with session_scope(engine) as session:
            row, secret = accounts.issue_token(
                session,
                staff_id=staff_id,
                name=name,
                event_types=event_type,
                districts=district,
                expires_at=expires,
                known_event_types=st.registry.routes.keys(),
            )
        record(
            engine, attempt, action="token.issue", outcome="accepted", target=f"{staff_id}:{row.id}"
        )
    if as_json:
        echo_json({"token_id": row.id, "token": secret, "expires_at": row.expires_at.isoformat()})
        return
    echo_lines(
        [
            f"令牌 token {row.id} for {staff_id} · expires {local_minute(row.expires_at)}",
            f"  {secret}",
            "  只显示一次，请妥善保存 shown once: store it in the partner system's secrets",
        ]
    )


@cli_errors
def token_revoke(
    ctx: typer.Context,
    token_id: Annotated[str, typer.Argument(help="Token id (the part after cft_).")],
) -> None:
    """Revoke a token at once · 撤销令牌."""
    st = state(ctx)
    with database(st.settings) as engine:
        with session_scope(engine) as session:
            row = accounts.revoke_token(session, token_id=token_id)
        record(
            engine,
            _operator(),
            action="token.revoke",
            outcome="accepted",
            target=f"{row.staff_id}:{row.id}",
        )
    typer.echo(f"已撤销 revoked token {token_id}")


@cli_errors
def token_list(
    ctx: typer.Context,
    staff_id: Annotated[str | None, typer.Argument(help="Only this account's tokens.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Tokens, their scope and state (never their secrets) · 令牌列表."""
    st = state(ctx)
    with database(st.settings) as engine, session_scope(engine) as session:
        rows: list[dict[str, Any]] = [
            {
                "token_id": t.id,
                "staff_id": t.staff_id,
                "name": t.name,
                "event_types": t.event_types,
                "districts": t.districts,
                "expires_at": t.expires_at.isoformat(),
                "revoked": t.revoked_at is not None,
                "last_used_at": t.last_used_at.isoformat() if t.last_used_at else None,
            }
            for t in accounts.list_tokens(session, staff_id=staff_id)
        ]
    if as_json:
        echo_json(rows)
        return
    echo_lines(
        [
            f"{r['token_id']} {r['staff_id']} {r['name']} · {','.join(r['event_types'])} · "
            f"{','.join(r['districts'])} · "
            + ("已撤销 revoked" if r["revoked"] else f"expires {local_minute(r['expires_at'])}")
            for r in rows
        ]
        or ["没有令牌 no tokens"]
    )


def register(app: typer.Typer) -> None:
    """Add the ``staff`` group (with its ``token`` subgroup) to ``app``."""
    staff_app.command("add")(add)
    staff_app.command("grant")(grant)
    staff_app.command("revoke")(revoke)
    staff_app.command("passwd")(passwd)
    staff_app.command("list")(list_)
    token_app.command("issue")(token_issue)
    token_app.command("revoke")(token_revoke)
    token_app.command("list")(token_list)
    staff_app.add_typer(token_app, name="token")
    app.add_typer(staff_app, name="staff")
