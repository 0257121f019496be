"""Logging in and out of the console, and the checks every console page and post makes.

Login uses :func:`careflow.access.actions.login` (audited, locked after repeated failures). The
login form itself carries a token too: a random value in a short-lived cookie that the form
must echo (double submit), so another site cannot log a browser into an account of its choice.
Every other post carries the session's CSRF token, checked by
:func:`staff_service.deps.check_csrf` (a refusal is audited under the post's action).
"""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from careflow.access import actions
from careflow.access.audit import record
from careflow.access.refusals import Refused
from staff_service.console.render import error_page, page, see_other
from staff_service.deps import (
    CSRF_FIELD,
    Caller,
    attempt_for,
    check_csrf,
    clear_session_cookie,
    optional_caller,
    request_id,
    services,
    set_session_cookie,
)

__all__ = ["LOGIN_COOKIE", "checked_form", "logged_in", "router", "safe_next"]

router = APIRouter()

LOGIN_COOKIE = "careflow_login"
"""The login form's double-submit token (HttpOnly, SameSite=Strict, 10 minutes)."""
_LOGIN_TTL_S = 600


def logged_in(request: Request) -> Caller | None:
    """The console caller of ``request`` (a session cookie), or None.

    Raises:
        Refused: ``database_unavailable`` when the session cannot be read.
    """
    caller = optional_caller(request)
    if caller is None or caller.via != "session":
        return None
    return caller


def safe_next(target: str | None) -> str:
    """Where to go after login: a path of this site only, else the inbox."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/tasks"


async def checked_form(
    request: Request, caller: Caller, *, action: str, target: str | None
) -> tuple[FormData, HTMLResponse | None]:
    """A console post's form, and the refusal page (403, audited) when its CSRF token is wrong."""
    form = await request.form()
    supplied = form.get(CSRF_FIELD)
    try:
        check_csrf(
            request,
            caller,
            supplied if isinstance(supplied, str) else None,
            action=action,
            channel="console",
            target=target,
        )
    except Refused as refusal:
        return form, error_page(request, refusal, caller=caller)
    return form, None


def _login_page(
    request: Request,
    *,
    next_url: str,
    username: str = "",
    message: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    token = secrets.token_urlsafe(24)
    response = page(
        request,
        "login.html",
        {"next": next_url, "username": username, "message": message, "login_token": token},
        caller=None,
        status=status,
    )
    found = services(request)
    response.set_cookie(
        LOGIN_COOKIE,
        token,
        max_age=_LOGIN_TTL_S,
        path="/login",
        secure=found.settings.cookie_secure,
        httponly=True,
        samesite="strict",
    )
    return response


@router.get("/", include_in_schema=False)
def home(request: Request) -> Response:
    """The inbox when logged in, else the login page."""
    return see_other("/tasks" if logged_in(request) else "/login")


@router.get("/login", include_in_schema=False, response_model=None)
def login_form(request: Request, next: str | None = None) -> Response:
    """The login page (or the inbox, for someone already logged in)."""
    if logged_in(request) is not None:
        return see_other(safe_next(next))
    return _login_page(request, next_url=safe_next(next))


@router.post("/login", include_in_schema=False, response_model=None)
async def login(
    request: Request,
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=256)] = "",
    login_token: Annotated[str, Form(max_length=64)] = "",
    next: Annotated[str, Form(max_length=512)] = "/tasks",
) -> Response:
    """Check the username and password; on success set the session cookie and go on."""
    found = services(request)
    target = safe_next(next)
    expected = request.cookies.get(LOGIN_COOKIE, "")
    if not (login_token and expected and hmac.compare_digest(login_token, expected)):
        refusal = Refused(
            "csrf", "登录页面已过期，请重新登录 the login page expired; please log in again"
        )
        record(
            found.engine,
            attempt_for(request, None, "console", claimed=username or None),
            action="auth.login",
            outcome="refused",
            target=username or None,
            reason=refusal.reason,
            message=refusal.message,
        )
        return _login_page(
            request, next_url=target, username=username, message=refusal.message, status=403
        )
    if not username.strip() or not password:
        return _login_page(
            request,
            next_url=target,
            username=username,
            message="请输入用户名和密码 enter your username and password",
            status=422,
        )
    try:
        _principal, secret, _csrf = await run_in_threadpool(
            actions.login,
            found.engine,
            username=username.strip(),
            password=password,
            channel="console",
            request_id=request_id(request),
        )
    except Refused as refusal:
        if refusal.reason == "bad_password":
            message = "用户名或密码错误 wrong username or password"
        elif refusal.reason == "locked":
            message = (
                "登录失败次数过多，账号已暂时锁定，请 15 分钟后再试 "
                "too many failed logins: the account is locked for 15 minutes"
            )
        else:
            message = refusal.message
        return _login_page(
            request,
            next_url=target,
            username=username,
            message=message,
            status=refusal.status,
        )
    response: RedirectResponse = see_other(target)
    set_session_cookie(response, secret=secret, secure=found.settings.cookie_secure)
    response.delete_cookie(LOGIN_COOKIE, path="/login")
    return response


@router.post("/logout", include_in_schema=False, response_model=None)
async def logout(request: Request) -> Response:
    """End the session (the form's CSRF token checked) and go to the login page."""
    caller = logged_in(request)
    found = services(request)
    if caller is None or caller.session_secret is None:
        return see_other("/login")
    _form, refused = await checked_form(request, caller, action="auth.logout", target=None)
    if refused is not None:
        return refused
    await run_in_threadpool(
        actions.logout,
        found.engine,
        attempt_for(request, caller.principal, "console"),
        secret=caller.session_secret,
    )
    response = see_other("/login")
    clear_session_cookie(response, secure=found.settings.cookie_secure)
    return response
