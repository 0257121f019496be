"""Who is calling: the request dependencies of the staff service (the contract for the console).

Every request has a request id (``request.state.request_id``, set by
:class:`staff_service.middleware.RequestContextMiddleware`) and reaches the service objects
through ``request.app.state.services`` (:class:`staff_service.services.Services`).

A caller authenticates in one of two ways:

* **Session cookie** ``careflow_session`` (:data:`SESSION_COOKIE`), set by a login (the API's
  ``POST /api/v1/session`` or the console's login form, both through
  :func:`careflow.access.actions.login`; set it with :func:`set_session_cookie`). HttpOnly,
  SameSite=Strict, Secure when ``settings.cookie_secure``. Every unsafe request (POST, PUT,
  PATCH, DELETE) authenticated by the cookie must carry the session's CSRF token: the API in
  the ``X-CSRF-Token`` header (:data:`CSRF_HEADER`), a console form in the hidden field
  ``csrf_token`` (:data:`CSRF_FIELD`), checked with :func:`check_csrf`.
* **API token** ``Authorization: Bearer cft_<id>_<secret>`` (machine clients, partner systems);
  needs no CSRF token. A malformed, unknown, revoked or expired token is refused 401, audited
  as ``auth.token``.

Dependencies (use with ``fastapi.Depends``):

* :func:`services` → :class:`~staff_service.services.Services`.
* :func:`optional_caller` → :class:`Caller` or None (not logged in). A bad bearer token is
  refused even here: a client that sends one must learn it is bad.
* :func:`current_caller` → :class:`Caller`; refuses 401 ``not_logged_in`` (audited as
  ``auth.required`` with the path as target).
* :func:`optional_principal` / :func:`current_principal` → the
  :class:`~careflow.access.Principal` of the above.
* :func:`csrf_token` → the CSRF token of the caller's session (None without a session): put
  it in every console form.
* :func:`attempt_for` (a plain function) → the :class:`~careflow.access.Attempt` to hand to
  an action: ``attempt_for(request, principal, "console")``.
* :func:`api_attempt` (a factory: ``Depends(api_attempt("task.complete"))``) → the API's
  attempt for one action, the CSRF header checked (refusal audited under that action).
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from fastapi import Request, Response
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from careflow.access import accounts
from careflow.access.audit import Attempt, record
from careflow.access.principal import Channel, Principal
from careflow.access.refusals import Refused
from careflow.db.engine import session_scope
from staff_service.services import Services

__all__ = [
    "CSRF_FIELD",
    "CSRF_HEADER",
    "SESSION_COOKIE",
    "UNSAFE_METHODS",
    "Caller",
    "api_attempt",
    "attempt_for",
    "check_csrf",
    "clear_session_cookie",
    "csrf_token",
    "current_caller",
    "current_principal",
    "optional_caller",
    "optional_principal",
    "request_id",
    "services",
    "set_session_cookie",
]

SESSION_COOKIE = "careflow_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_BEARER = "bearer "
_CALLER_KEY = "careflow_caller"


@dataclass(frozen=True, slots=True)
class Caller:
    """An authenticated caller of one request.

    Attributes:
        principal: The account acting, with its live grants (and token scope).
        via: ``session`` (the console cookie) or ``token`` (a bearer API token).
        csrf: The session's CSRF token; None for a token caller.
        session_secret: The cookie's secret (to log out); None for a token caller.
    """

    principal: Principal
    via: Literal["session", "token"]
    csrf: str | None = None
    session_secret: str | None = None


def services(request: Request) -> Services:
    """The service objects of the app serving ``request``."""
    found: Services = request.app.state.services
    return found


def request_id(request: Request) -> str:
    """The id of ``request`` (also in its ``X-Request-ID`` header and log lines)."""
    return str(request.state.request_id)


def attempt_for(
    request: Request,
    principal: Principal | None,
    channel: Channel,
    *,
    claimed: str | None = None,
) -> Attempt:
    """The audit trail's view of ``request``: who, through which channel, with which id."""
    return Attempt(
        principal=principal, channel=channel, request_id=request_id(request), claimed=claimed
    )


def _now() -> datetime:
    return datetime.now(UTC)


def _database_unavailable(err: SQLAlchemyError) -> Refused:
    return Refused("database_unavailable", "数据库暂不可用，请稍后再试 database unavailable")


def _token_caller(request: Request, found: Services, token: str) -> Caller:
    public = accounts.token_label(token)
    try:
        with session_scope(found.engine) as session:
            principal = accounts.token_principal(session, token=token, now=_now())
    except Refused as refusal:
        record(
            found.engine,
            attempt_for(request, None, "api", claimed=public),
            action="auth.token",
            outcome="refused",
            target=public,
            reason=refusal.reason,
            message=refusal.message,
        )
        raise
    except SQLAlchemyError as err:
        raise _database_unavailable(err) from err
    return Caller(principal=principal, via="token")


def _session_caller(found: Services, secret: str) -> Caller | None:
    try:
        # A read only: no write transaction (on SQLite that would queue behind every writer).
        with Session(found.engine) as session:
            live = accounts.session_principal(session, secret=secret, now=_now())
    except SQLAlchemyError as err:
        raise _database_unavailable(err) from err
    if live is None:
        return None
    principal, csrf = live
    return Caller(principal=principal, via="session", csrf=csrf, session_secret=secret)


def optional_caller(request: Request) -> Caller | None:
    """The caller of ``request``, or None when it carries no credentials (or a stale cookie).

    A bearer token wins over a cookie. Resolved once per request.

    Raises:
        Refused: ``bad_token`` (audited) for a bad ``Authorization`` header;
            ``database_unavailable`` when the app database cannot be read.
    """
    state = request.state
    if hasattr(state, _CALLER_KEY):
        cached: Caller | None = getattr(state, _CALLER_KEY)
        return cached
    found = services(request)
    caller: Caller | None = None
    header = request.headers.get("authorization")
    if header is not None:
        if not header.lower().startswith(_BEARER):
            record(
                found.engine,
                attempt_for(request, None, "api"),
                action="auth.token",
                outcome="refused",
                reason="bad_token",
                message="not a bearer token",
            )
            raise Refused(
                "bad_token",
                "请使用 Bearer 令牌 use Authorization: Bearer cft_…",
                field="authorization",
            )
        caller = _token_caller(request, found, header[len(_BEARER) :].strip())
    else:
        secret = request.cookies.get(SESSION_COOKIE)
        if secret:
            caller = _session_caller(found, secret)
    setattr(state, _CALLER_KEY, caller)
    return caller


def current_caller(request: Request) -> Caller:
    """The caller of ``request``; refuses one that is not logged in.

    Raises:
        Refused: ``not_logged_in`` (audited as ``auth.required``), or as
            :func:`optional_caller`.
    """
    caller = optional_caller(request)
    if caller is None:
        record(
            services(request).engine,
            attempt_for(request, None, "console" if _is_console(request) else "api"),
            action="auth.required",
            outcome="refused",
            target=request.url.path[:255],
            reason="not_logged_in",
        )
        raise Refused("not_logged_in", "请先登录 please log in")
    return caller


def _is_console(request: Request) -> bool:
    return not request.url.path.startswith("/api/")


def optional_principal(request: Request) -> Principal | None:
    """The principal of :func:`optional_caller`."""
    caller = optional_caller(request)
    return None if caller is None else caller.principal


def current_principal(request: Request) -> Principal:
    """The principal of :func:`current_caller`."""
    return current_caller(request).principal


def csrf_token(request: Request) -> str | None:
    """The CSRF token of the caller's console session; None without a session."""
    caller = optional_caller(request)
    return None if caller is None else caller.csrf


def check_csrf(
    request: Request,
    caller: Caller | None,
    supplied: str | None,
    *,
    action: str,
    channel: Channel,
    target: str | None = None,
) -> None:
    """Refuse an unsafe, cookie-authenticated request whose CSRF token is missing or wrong.

    Safe methods and token callers pass. Call it before the action, with the token from the
    ``X-CSRF-Token`` header (API) or the form's ``csrf_token`` field (console).

    Raises:
        Refused: ``csrf``, after its audit row under ``action``.
    """
    if caller is None or caller.via != "session" or request.method not in UNSAFE_METHODS:
        return
    expected = caller.csrf or ""
    if supplied and expected and hmac.compare_digest(supplied.encode(), expected.encode()):
        return
    refusal = Refused(
        "csrf",
        "请求缺少有效的 CSRF 令牌，请刷新页面后重试 missing or wrong CSRF token; reload and retry",
        field=CSRF_HEADER if channel == "api" else CSRF_FIELD,
    )
    record(
        services(request).engine,
        attempt_for(request, caller.principal, channel),
        action=action,
        outcome="refused",
        target=target,
        reason=refusal.reason,
        message=refusal.message,
    )
    raise refusal


def api_attempt(action: str) -> Callable[[Request], Attempt]:
    """A dependency giving the API's attempt for ``action``, CSRF checked for cookie callers.

    The principal may be None: the action then refuses ``not_logged_in`` and audits it, so
    each refusal has one row under the action's own name.
    """

    def dependency(request: Request) -> Attempt:
        caller = optional_caller(request)
        check_csrf(
            request,
            caller,
            request.headers.get(CSRF_HEADER),
            action=action,
            channel="api",
            target=_target(request),
        )
        return attempt_for(request, None if caller is None else caller.principal, "api")

    dependency.__name__ = f"api_attempt_{action.replace('.', '_')}"
    return dependency


def _target(request: Request) -> str | None:
    params = request.path_params
    for key in ("task_id", "workflow_id", "process", "event_type"):
        if key in params:
            return str(params[key])[:255]
    return None


def set_session_cookie(response: Response, *, secret: str, secure: bool) -> None:
    """Give the browser its session cookie (HttpOnly, SameSite=Strict, Secure if asked)."""
    response.set_cookie(
        SESSION_COOKIE,
        secret,
        max_age=int(accounts.SESSION_TTL.total_seconds()),
        path="/",
        secure=secure,
        httponly=True,
        samesite="strict",
    )


def clear_session_cookie(response: Response, *, secure: bool) -> None:
    """Remove the session cookie."""
    response.delete_cookie(
        SESSION_COOKIE, path="/", secure=secure, httponly=True, samesite="strict"
    )
