"""``/docs``: the OpenAPI document as a page rendered here, with no script or file from outside.

FastAPI's Swagger UI loads its scripts from a CDN, which the service's policy (and a network
without internet access) forbids; this page lists every route with its parameters, body and
answers, and links the machine-readable document at ``/openapi.json``.
"""

from __future__ import annotations

import json
from html import escape
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

__all__ = ["render_docs", "router"]

router = APIRouter(include_in_schema=False)

_STYLE = """
body{font-family:system-ui,"Noto Sans CJK SC",sans-serif;max-width:60rem;margin:auto;padding:1rem;
color:#1a1a1a;line-height:1.5}
h2{border-top:1px solid #ccc;padding-top:1rem}code,pre{background:#f3f3f3;padding:.1rem .3rem}
pre{overflow-x:auto;padding:.5rem;font-size:.85rem}.m{font-weight:bold;color:#0b5394}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2rem .4rem;text-align:left}
"""


def _schema_text(schema: Any, *, indent: int | None = 2) -> str:
    return escape(json.dumps(schema, ensure_ascii=False, indent=indent))


def _operation(path: str, method: str, op: dict[str, Any]) -> str:
    parts = [
        f'<h3 id="{escape(op.get("operationId", ""))}"><span class="m">{method.upper()}</span> '
        f"<code>{escape(path)}</code> {escape(op.get('summary', ''))}</h3>"
    ]
    if op.get("description"):
        parts.append(f"<p>{escape(op['description'])}</p>")
    params = op.get("parameters") or []
    if params:
        rows = "".join(
            f"<tr><td><code>{escape(p['name'])}</code></td><td>{escape(p['in'])}</td>"
            f"<td>{'✔' if p.get('required') else ''}</td>"
            f"<td><code>{_schema_text(p.get('schema', {}), indent=None)}</code></td></tr>"
            for p in params
        )
        parts.append(
            "<table><tr><th>参数 parameter</th><th>in</th><th>必填 required</th>"
            f"<th>schema</th></tr>{rows}</table>"
        )
    body = op.get("requestBody")
    if body:
        for media, content in body.get("content", {}).items():
            parts.append(
                f"<p>请求体 body ({escape(media)}):</p>"
                f"<pre>{_schema_text(content.get('schema'))}</pre>"
            )
    answers = "".join(
        f"<li><code>{escape(code)}</code> {escape(answer.get('description', ''))}</li>"
        for code, answer in (op.get("responses") or {}).items()
    )
    parts.append(f"<ul>{answers}</ul>")
    return "\n".join(parts)


def render_docs(document: dict[str, Any]) -> str:
    """The HTML page of an OpenAPI document."""
    info = document.get("info", {})
    sections = []
    for path, item in document.get("paths", {}).items():
        for method, op in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                sections.append(_operation(path, method, op))
    schemas = document.get("components", {}).get("schemas", {})
    models = "".join(
        f'<h3 id="schema-{escape(name)}">{escape(name)}</h3><pre>{_schema_text(schema)}</pre>'
        for name, schema in sorted(schemas.items())
    )
    return (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(info.get('title', 'API'))}</title>"
        '<link rel="stylesheet" href="/docs/style.css"></head><body><main>'
        f"<h1>{escape(info.get('title', 'API'))} "
        f"<small>{escape(info.get('version', ''))}</small></h1>"
        f"<p>{escape(info.get('description', ''))}</p>"
        '<p>机器可读文档 machine-readable: <a href="/openapi.json">/openapi.json</a></p>'
        f"<h2>接口 routes</h2>{''.join(sections)}<h2>数据结构 schemas</h2>{models}"
        "</main></body></html>"
    )


@router.get("/docs", response_class=HTMLResponse)
def docs(request: Request) -> HTMLResponse:
    """The API reference page."""
    return HTMLResponse(render_docs(request.app.openapi()))


@router.get("/docs/style.css")
def docs_style() -> HTMLResponse:
    """The page's style sheet (served here: the policy allows no inline style)."""
    return HTMLResponse(_STYLE, media_type="text/css")
