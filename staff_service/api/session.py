"""Login, logout and who am I: ``/api/v1/session`` and ``/api/v1/me``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from careflow.access import actions
from careflow.access.audit import Attempt, record
from careflow.access.refusals import Refused
from staff_service.api.models import LoginBody, Me, SessionOut, me_of
from staff_service.deps import (
    Caller,
    api_attempt,
    clear_session_cookie,
    current_caller,
    optional_caller,
    request_id,
    services,
    set_session_cookie,
)
from staff_service.problems import problem_responses
from staff_service.services import Services

__all__ = ["router"]

router = APIRouter(tags=["session 登录"])


@router.post(
    "/session",
    response_model=SessionOut,
    summary="登录 log in",
    responses=problem_responses(401, 403, 422, 429, 503),
)
def log_in(
    body: LoginBody,
    request: Request,
    response: Response,
    found: Annotated[Services, Depends(services)],
) -> SessionOut:
    """Check a username and password and open a session (cookie ``careflow_session``).

    Send the returned ``csrf_token`` as ``X-CSRF-Token`` with every POST and DELETE made with
    the cookie. Five wrong passwords in a row lock the account for 15 minutes (429). Machine
    clients use an API token (``Authorization: Bearer cft_…``) instead.
    """
    principal, secret, csrf = actions.login(
        found.engine,
        username=body.username,
        password=body.password,
        channel="api",
        request_id=request_id(request),
    )
    set_session_cookie(response, secret=secret, secure=found.settings.cookie_secure)
    return SessionOut(**me_of(principal, via="session").model_dump(), csrf_token=csrf)


@router.delete(
    "/session",
    status_code=204,
    summary="退出登录 log out",
    responses=problem_responses(401, 403),
)
def log_out(
    request: Request,
    found: Annotated[Services, Depends(services)],
    attempt: Annotated[Attempt, Depends(api_attempt("auth.logout"))],
) -> Response:
    """End the cookie's session (needs ``X-CSRF-Token``)."""
    caller = optional_caller(request)
    if caller is None or caller.session_secret is None:
        refusal = Refused("not_logged_in", "没有可退出的登录会话 no console session to end")
        record(
            found.engine,
            attempt,
            action="auth.logout",
            outcome="refused",
            reason=refusal.reason,
            message=refusal.message,
        )
        raise refusal
    actions.logout(found.engine, attempt, secret=caller.session_secret)
    answer = Response(status_code=204)
    clear_session_cookie(answer, secure=found.settings.cookie_secure)
    return answer


@router.get(
    "/me",
    response_model=Me,
    summary="当前账号 who am I",
    responses=problem_responses(401, 503),
)
def me(caller: Annotated[Caller, Depends(current_caller)]) -> Me:
    """The authenticated account, its grants and, for a token, the token's scope."""
    return me_of(caller.principal, via=caller.via)
