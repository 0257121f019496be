"""Form and request validation errors as field-level messages staff can read (Chinese first)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError

from careflow.errors import format_loc

__all__ = ["FieldProblem", "field_problems"]


class FieldProblem(BaseModel):
    """One field that did not validate."""

    field: str
    message: str


_ZH: dict[str, str] = {
    "missing": "必填 required",
    "extra_forbidden": "不允许的字段 unknown field",
    "int_parsing": "应为整数 must be a whole number",
    "int_type": "应为整数 must be a whole number",
    "float_parsing": "应为数字 must be a number",
    "float_type": "应为数字 must be a number",
    "bool_parsing": "应为是或否 must be yes or no",
    "bool_type": "应为是或否 must be yes or no",
    "string_type": "应为文字 must be text",
    "list_type": "应为列表 must be a list",
    "dict_type": "应为对象 must be an object",
    "date_parsing": "日期格式应为 YYYY-MM-DD must be a date YYYY-MM-DD",
    "date_from_datetime_parsing": "日期格式应为 YYYY-MM-DD must be a date YYYY-MM-DD",
    "datetime_parsing": "时间格式不正确 must be a date and time",
    "datetime_from_date_parsing": "时间格式不正确 must be a date and time",
    "enum": "不是可选值 not one of the choices",
    "literal_error": "不是可选值 not one of the choices",
    "value_error": "取值无效 invalid value",
}


def _message(error: Any) -> str:
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind in ("greater_than_equal", "greater_than"):
        limit = ctx.get("ge", ctx.get("gt"))
        return (
            f"不能小于 {limit} must be at least {limit}"
            if kind.endswith("equal")
            else (f"必须大于 {limit} must be more than {limit}")
        )
    if kind in ("less_than_equal", "less_than"):
        limit = ctx.get("le", ctx.get("lt"))
        return f"不能大于 {limit} must be at most {limit}"
    if kind in ("string_too_long", "too_long"):
        limit = ctx.get("max_length")
        return f"过长，最多 {limit} must have at most {limit}"
    if kind in ("string_too_short", "too_short"):
        limit = ctx.get("min_length")
        return f"过短，至少 {limit} must have at least {limit}"
    if kind in ("literal_error", "enum") and "expected" in ctx:
        return f"不是可选值 not one of the choices ({ctx['expected']})"
    if kind == "value_error":
        return f"取值无效 {error.get('msg', '')}".strip()
    return _ZH.get(kind, error.get("msg", "取值无效 invalid value"))


def field_problems(err: ValidationError, *, prefix: str = "") -> list[FieldProblem]:
    """One problem per failing field, its path prefixed (``data.quantity``)."""
    problems = []
    for item in err.errors():
        loc = format_loc(item["loc"])
        where = f"{prefix}.{loc}" if prefix and loc else (prefix or loc or "(form)")
        problems.append(FieldProblem(field=where, message=_message(item)))
    return problems
