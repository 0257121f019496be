"""Rendering console pages: the Jinja2 environment (autoescaped), filters and error pages."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlmodel import Session, select

from careflow.access.principal import Principal
from careflow.access.refusals import Refused
from careflow.areas import DISTRICTS
from careflow.db.tables import Area
from careflow.localtime import local_minute
from staff_service.console.labels import (
    CHANNELS,
    OUTCOMES,
    TASK_STATUSES,
    action_label,
    role_label,
)
from staff_service.deps import Caller

__all__ = [
    "STATIC_DIR",
    "TEMPLATES_DIR",
    "AreaNames",
    "area_names",
    "environment",
    "error_page",
    "login_redirect",
    "page",
    "see_other",
]

_HERE = Path(__file__).parent
TEMPLATES_DIR = _HERE / "templates"
STATIC_DIR = _HERE / "static"

_TITLES: dict[str, str] = {
    "not_logged_in": "请先登录",
    "bad_password": "用户名或密码错误",
    "locked": "账号已暂时锁定",
    "inactive": "账号已停用",
    "wrong_role": "无权操作",
    "out_of_scope": "无权访问",
    "read_only": "只读账号",
    "claimed_by_other": "已由他人认领",
    "unknown": "未找到",
    "closed_task": "工单已关闭",
    "already_started": "流程已在运行",
    "bad_form": "表单有误",
    "bad_input": "输入有误",
    "csrf": "页面已过期",
    "temporal_unavailable": "流程引擎暂不可用",
    "database_unavailable": "数据库暂不可用",
}


@lru_cache(maxsize=1)
def environment() -> Environment:
    """The console's Jinja2 environment: templates of this package, HTML autoescaped."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(("html",), default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["local"] = local_minute
    env.filters["role"] = role_label
    env.filters["action"] = action_label
    env.filters["outcome"] = lambda v: f"{OUTCOMES.get(v, v)} {v}" if v in OUTCOMES else v
    env.filters["channel"] = lambda v: CHANNELS.get(v, v)
    env.filters["task_status"] = lambda v: TASK_STATUSES.get(v, v)
    env.filters["district"] = lambda v: DISTRICTS[v].name_zh if v in DISTRICTS else (v or "-")
    env.filters["urlpart"] = lambda v: quote(str(v), safe="")
    return env


@dataclass(frozen=True, slots=True)
class AreaNames:
    """Chinese names of the registry's areas (districts, streets, communities)."""

    names: Mapping[str, str]
    levels: Mapping[str, str]

    def __call__(self, code: str | None) -> str:
        """The Chinese name of ``code`` (a district, street or community), or the code."""
        if not code:
            return "-"
        if code in DISTRICTS:
            return DISTRICTS[code].name_zh
        return self.names.get(code, code)

    def under(self, areas: Iterable[str], level: str) -> list[tuple[str, str]]:
        """``(code, name)`` of every area of ``level`` in (or equal to) one of ``areas``."""
        roots = set(areas)
        found = []
        for code, kind in self.levels.items():
            if kind != level:
                continue
            if "taiyuan" in roots or any(code == r or code.startswith(r + ".") for r in roots):
                found.append((code, self(code)))
        return sorted(found)


def area_names(engine: Any) -> AreaNames:
    """The registry's area names, read from the app database (a few hundred rows)."""
    with Session(engine) as session:
        rows = session.exec(select(Area)).all()
    return AreaNames(
        names={r.code: r.name_zh for r in rows}, levels={r.code: r.level for r in rows}
    )


def page(
    request: Request,
    template: str,
    context: Mapping[str, Any],
    *,
    caller: Caller | None,
    status: int = 200,
) -> HTMLResponse:
    """Render ``template`` with what every page needs: who is logged in and the CSRF token.

    Args:
        request: The request being answered.
        template: A file of ``templates/``.
        context: The page's own values.
        caller: The logged-in caller, or None (login and error pages).
        status: The HTTP status.
    """
    principal: Principal | None = None if caller is None else caller.principal
    values = {
        "request": request,
        "path": request.url.path,
        "principal": principal,
        "csrf_token": None if caller is None else caller.csrf,
        "nav": _nav(principal),
        **context,
    }
    html = environment().get_template(template).render(values)
    return HTMLResponse(html, status_code=status)


def _nav(principal: Principal | None) -> list[tuple[str, str]]:
    if principal is None:
        return []
    items = [("/tasks", "我的工单"), ("/start", "发起流程"), ("/cases", "案件查询")]
    if {"auditor", "district_admin"} & set(principal.roles):
        items.append(("/audit", "审计"))
    if {"community_staff", "district_admin", "auditor"} & set(principal.roles):
        items.append(("/consents", "同意登记"))
    return items


def error_page(
    request: Request, refusal: Refused, *, caller: Caller | None, back: str | None = None
) -> HTMLResponse:
    """A page saying, in Chinese first, why an attempt was refused, with the right status."""
    return page(
        request,
        "error.html",
        {
            "title": _TITLES.get(refusal.reason, "无法完成"),
            "message": refusal.message,
            "reason": refusal.reason,
            "status": refusal.status,
            "back": back,
            "request_id": getattr(request.state, "request_id", ""),
        },
        caller=caller,
        status=refusal.status,
    )


def see_other(url: str) -> RedirectResponse:
    """A 303 redirect (after a post, the browser GETs ``url``)."""
    return RedirectResponse(url, status_code=303)


def login_redirect(request: Request) -> RedirectResponse:
    """Send a visitor who is not logged in to the login page, coming back here afterwards."""
    target = request.url.path
    if request.url.query:
        target += "?" + request.url.query
    return see_other("/login?next=" + quote(target, safe=""))
