"""Errors as ``application/problem+json`` (RFC 9457), the one shape every error of the service has.

A problem names the rule that failed (``reason``, the :class:`~careflow.access.Refused` code),
the field at fault (``field``) and every failing field (``errors``), with a message staff read
(Chinese first, English beside it) and the request id that joins it to the audit row and the
log line. Nothing of a traceback, a SQL statement or a payload value ever reaches the body.

Handlers installed by :func:`install_problem_handlers`:

* :class:`~careflow.access.Refused` → its ``status`` (401, 403, 404, 409, 422, 429, 503).
* FastAPI's request validation (a query parameter, a header, a body that does not parse) →
  422 ``bad_input`` naming the field (``limit``, ``data``, ``username``).
* Starlette's HTTP errors (an unknown route 404, a wrong method 405) → the same shape; a
  body that cannot be parsed at all (400) → 422 ``bad_input`` on ``(body)``.
* Anything else → 500 ``internal`` with the request id only, answered by
  :class:`staff_service.middleware.RequestContextMiddleware` (logged by type, never message).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, ValidationError
from pydantic_core import InitErrorDetails
from starlette.exceptions import HTTPException as StarletteHTTPException

from careflow.access.audit import record
from careflow.access.form_errors import field_problems
from careflow.access.refusals import Refused
from careflow.errors import format_loc

__all__ = [
    "PROBLEM_JSON",
    "FieldError",
    "Problem",
    "install_problem_handlers",
    "problem_response",
    "problem_responses",
    "refusal_problem",
]

PROBLEM_JSON = "application/problem+json"
"""The media type of every error body."""

_TYPE_BASE = "urn:careflow:problem:"
_API = "/api/v1"

_TITLES: dict[str, str] = {
    "not_logged_in": "未登录 not logged in",
    "bad_password": "用户名或密码错误 wrong username or password",
    "locked": "账号已暂时锁定 account locked",
    "bad_token": "令牌无效 invalid API token",
    "inactive": "账号已停用 account disabled",
    "wrong_role": "角色不符 wrong role",
    "out_of_scope": "超出辖区 out of your area",
    "read_only": "只读账号 read-only account",
    "claimed_by_other": "已由他人认领 claimed by someone else",
    "unknown": "未找到 not found",
    "closed_task": "工单已关闭 task already closed",
    "already_started": "流程已启动 process already started",
    "bad_form": "表单有误 the form does not validate",
    "bad_input": "输入有误 bad input",
    "csrf": "缺少或错误的 CSRF 令牌 missing or wrong CSRF token",
    "temporal_unavailable": "流程引擎不可用 Temporal unavailable",
    "database_unavailable": "数据库不可用 database unavailable",
    "method_not_allowed": "不支持的请求方法 method not allowed",
    "internal": "服务内部错误 internal error",
}

_HTTP_REASONS: dict[int, tuple[str, str]] = {
    400: ("bad_input", "请求有误 bad request"),
    401: ("not_logged_in", "请先登录 please log in"),
    403: ("out_of_scope", "无权访问 forbidden"),
    404: ("unknown", "未找到此地址 no such address"),
    405: ("method_not_allowed", "此地址不支持该请求方法 method not allowed here"),
    413: ("bad_input", "请求过大 request too large"),
    415: ("bad_input", "不支持的内容类型 unsupported content type"),
}


class FieldError(BaseModel):
    """One input field that did not validate."""

    field: str = Field(description="The field's path, e.g. ``data.quantity`` or ``limit``.")
    message: str = Field(description="What is wrong, Chinese first.")


class Problem(BaseModel):
    """An error (RFC 9457 problem details), with careflow's extension members."""

    type: str = Field(
        description="A URI naming the kind of problem (``urn:careflow:problem:<reason>``)."
    )
    title: str = Field(description="A short summary of the kind, Chinese first.")
    status: int = Field(description="The HTTP status code.")
    detail: str = Field(description="What happened in this request, Chinese first.")
    reason: str = Field(description="The refusal code (``out_of_scope``, ``bad_form`` …).")
    field: str | None = Field(default=None, description="The input field at fault, if one.")
    errors: list[FieldError] = Field(
        default_factory=list, description="Every failing field of a form or request."
    )
    request_id: str = Field(description="Joins this answer to the audit row and the log line.")


def _request_id(request: Request) -> str:
    return str(getattr(request.state, "request_id", "") or "")


def problem_response(
    request: Request,
    *,
    status: int,
    reason: str,
    detail: str,
    field: str | None = None,
    errors: Iterable[FieldError] = (),
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """A problem+json response for ``request``.

    Args:
        request: The request answered (its id goes into the body).
        status: The HTTP status.
        reason: The refusal code.
        detail: The message of this occurrence, Chinese first.
        field: The field at fault.
        errors: Every failing field.
        headers: Extra response headers (``WWW-Authenticate``, ``Allow``).
    """
    problem = Problem(
        type=_TYPE_BASE + reason,
        title=_TITLES.get(reason, reason),
        status=status,
        detail=detail,
        reason=reason,
        field=field,
        errors=list(errors),
        request_id=_request_id(request),
    )
    return JSONResponse(
        problem.model_dump(mode="json"),
        status_code=status,
        media_type=PROBLEM_JSON,
        headers=dict(headers or {}),
    )


def refusal_problem(request: Request, refused: Refused) -> JSONResponse:
    """The problem of a refusal (already audited by whoever raised it)."""
    errors = [FieldError(field=p.field, message=p.message) for p in refused.problems]
    field = refused.field or (errors[0].field if errors else None)
    headers = {"WWW-Authenticate": "Bearer"} if refused.status == 401 else None
    if refused.status == 503:
        headers = {"Retry-After": "5"}
    return problem_response(
        request,
        status=refused.status,
        reason=refused.reason,
        detail=refused.message,
        field=field,
        errors=errors,
        headers=headers,
    )


def _strip_source(loc: Sequence[Any]) -> list[Any]:
    # FastAPI's locations start with where the value came from: body, query, path, header.
    parts = list(loc)
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        parts = parts[1:]
    return parts


def validation_errors(errors: Sequence[Any]) -> list[FieldError]:
    """FastAPI's validation errors as field problems, each with a Chinese message."""
    found: list[FieldError] = []
    for item in errors:
        parts = _strip_source(item.get("loc", ()))
        field = format_loc(parts) or "(body)"
        details: InitErrorDetails = {
            "type": item.get("type", "value_error"),
            "loc": tuple(parts),
            "input": None,
        }
        if item.get("ctx"):
            details["ctx"] = {k: v for k, v in item["ctx"].items() if k != "error"}
        try:
            translated = field_problems(ValidationError.from_exception_data("request", [details]))
            message = translated[0].message
        except (KeyError, TypeError, ValueError):
            # An error type pydantic-core does not know (FastAPI's own): its English message.
            message = f"取值无效 {item.get('msg', 'invalid value')}"
        if item.get("type") == "json_invalid":
            message = "不是有效的 JSON not valid JSON"
        found.append(FieldError(field=field, message=message))
    return found


async def _on_refused(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Refused)
    return refusal_problem(request, exc)


async def _on_validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = validation_errors(exc.errors())
    first = errors[0] if errors else None
    detail = f"{first.field}: {first.message}" if first else "输入有误 bad input"
    _audit_bad_input(request, errors)
    return problem_response(
        request,
        status=422,
        reason="bad_input",
        detail=detail,
        field=first.field if first else None,
        errors=errors,
    )


def _audit_bad_input(request: Request, errors: list[FieldError]) -> None:
    """Audit a request that did not validate under its API route's action (``task.complete``)."""
    from staff_service.deps import attempt_for

    action = getattr(request.scope.get("route"), "name", None)
    path: str = request.url.path
    if not (isinstance(action, str) and "." in action and path.startswith(_API)):
        return
    caller = getattr(request.state, "careflow_caller", None)
    record(
        request.app.state.services.engine,
        attempt_for(request, None if caller is None else caller.principal, "api"),
        action=action,
        outcome="refused",
        target=path[len(_API) :][:255],
        reason="bad_input",
        message="; ".join(f"{e.field}: {e.message}" for e in errors),
    )


async def _on_http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400:
        # A body that cannot even be parsed (not UTF-8, cut short): bad input like any other.
        errors = [FieldError(field="(body)", message="不是有效的 JSON not valid JSON")]
        _audit_bad_input(request, errors)
        return problem_response(
            request,
            status=422,
            reason="bad_input",
            detail="请求体不是有效的 JSON the body is not valid JSON",
            field="(body)",
            errors=errors,
        )
    reason, detail = _HTTP_REASONS.get(exc.status_code, ("bad_input", str(exc.detail)))
    if isinstance(exc.detail, str) and exc.status_code not in _HTTP_REASONS:
        detail = exc.detail
    return problem_response(
        request,
        status=exc.status_code,
        reason=reason,
        detail=detail,
        headers=exc.headers,
    )


def install_problem_handlers(app: FastAPI) -> None:
    """Answer every error of ``app`` with a problem (see the module docstring)."""
    app.add_exception_handler(Refused, _on_refused)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries documenting problem+json bodies for ``statuses``."""
    return {
        status: {
            "model": Problem,
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
            "description": _STATUS_TEXT.get(status, "problem"),
        }
        for status in statuses
    }


_STATUS_TEXT: dict[int, str] = {
    401: "未登录或令牌无效 not logged in, bad password or bad token",
    403: "无权 out of scope, wrong role, read only or CSRF token missing",
    404: "未找到 unknown task, process or workflow",
    409: "冲突 closed task, already started, claimed by someone else",
    422: "输入有误 form or request does not validate (names the field)",
    429: "账号锁定 too many failed logins",
    503: "Temporal 或数据库不可用 Temporal or the database unreachable",
}
