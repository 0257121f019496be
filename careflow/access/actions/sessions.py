"""Console and API logins: checked, counted against lockout, and audited either way."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from careflow.access import accounts
from careflow.access.actions.attempts import Audited, now
from careflow.access.audit import Attempt
from careflow.access.principal import Channel, Principal
from careflow.access.refusals import Refused
from careflow.db.engine import session_scope

__all__ = ["login", "logout"]


def login(
    engine: Engine, *, username: str, password: str, channel: Channel, request_id: str
) -> tuple[Principal, str, str]:
    """Check a username and password and open a console session; audited either way.

    Returns:
        The principal, the session's cookie secret and its CSRF token.

    Raises:
        Refused: ``bad_password``, ``locked`` or ``inactive``.
    """
    attempt = Attempt(principal=None, channel=channel, request_id=request_id, claimed=username)
    audit = Audited(engine, attempt, "auth.login", target=username)
    failure: Refused | None = None
    try:
        with session_scope(engine) as session:
            try:
                principal = accounts.authenticate(
                    session, username=username, password=password, now=now()
                )
            except Refused as refusal:
                failure = refusal  # the failure count commits with the block
            else:
                secret, csrf = accounts.open_session(
                    session, staff_id=principal.staff_id, now=now()
                )
    except SQLAlchemyError as err:
        raise Refused("database_unavailable", "数据库暂不可用 database unavailable") from err
    if failure is not None:
        raise audit.refused(failure)
    audit.attempt = Attempt(principal=principal, channel=channel, request_id=request_id)
    audit.accepted()
    return principal, secret, csrf


def logout(engine: Engine, attempt: Attempt, *, secret: str) -> None:
    """End a console session; audited."""
    with session_scope(engine) as session:
        accounts.close_session(session, secret=secret)
    Audited(engine, attempt, "auth.logout").accepted()
