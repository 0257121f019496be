"""HTML forms generated from a JSON Schema, and posted HTML fields turned back into typed JSON.

Pure functions, no I/O: :func:`form_fields` turns a task's ``form_schema`` (or a process's
request schema) into :class:`FormField` s the templates render, with the values entered so far
and the field-level errors of a refusal; :func:`parse_form` turns the strings a browser posts
into the JSON types the schema declares (integers, booleans, lists), so the action's pydantic
validation sees what the person meant. Whatever cannot be converted is passed on as the string
it is: the server-side validation is the authority and names the field in Chinese.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from staff_service.console.labels import choice_label, field_label

__all__ = [
    "Choice",
    "FieldKind",
    "FormField",
    "FormValues",
    "field_errors",
    "form_fields",
    "parse_form",
]

FieldKind = Literal[
    "text",
    "textarea",
    "integer",
    "number",
    "checkbox",
    "yesno",
    "select",
    "radio",
    "multi",
    "lines",
    "date",
    "datetime",
    "json",
]
"""How a field is rendered (see ``templates/_fields.html``)."""

FormValues = Mapping[str, Sequence[str]]
"""Posted fields: each name with every value the browser sent (``MultiDict`` lists)."""

_TEXTAREA_FROM = 300
"""Strings allowed this long or longer (or unbounded) get a textarea."""
_RADIO_UP_TO = 4
"""Enums with this many choices or fewer are radio buttons; more are a select."""
_HTML_ID = re.compile(r"[^A-Za-z0-9_-]")
_CN_TZ = "+08:00"


@dataclass(frozen=True, slots=True)
class Choice:
    """One option of a select, a radio group or a set of checkboxes."""

    value: str
    label: str
    selected: bool = False


@dataclass(slots=True)
class FormField:
    """One input of a generated form, ready for the template.

    Attributes:
        name: The property name; also the HTML ``name``.
        kind: How to render it.
        label: What the person reads (Chinese first).
        label_en: The English label beside it, or None when the same as ``label``.
        help: A line under the label (the schema's description), or None.
        required: The schema requires it.
        value: The text shown in a text-like input (what was entered, else the default).
        checked: For a checkbox: ticked.
        choices: Options of a select, radio group, yes/no or multiple choice.
        error: The Chinese message of a refusal for this field, or None.
        attrs: Extra HTML attributes (``min``, ``max``, ``step``, ``maxlength``, ``inputmode``).
    """

    name: str
    kind: FieldKind
    label: str
    label_en: str | None = None
    help: str | None = None
    required: bool = False
    value: str = ""
    checked: bool = False
    choices: list[Choice] = field(default_factory=list)
    error: str | None = None
    attrs: dict[str, str] = field(default_factory=dict)

    @property
    def html_id(self) -> str:
        """The ``id`` of the input (``f-<name>``), which its ``<label for>`` names."""
        return "f-" + _HTML_ID.sub("-", self.name)

    @property
    def described_by(self) -> str:
        """Ids of the help and error lines, for ``aria-describedby`` (may be empty)."""
        ids = []
        if self.help:
            ids.append(self.html_id + "-help")
        if self.error:
            ids.append(self.html_id + "-error")
        return " ".join(ids)


# --- schema reading ---------------------------------------------------------------------------


def _resolve(schema: Mapping[str, Any], node: Mapping[str, Any]) -> dict[str, Any]:
    """``node`` with ``$ref`` and single ``allOf`` replaced by what they point to."""
    resolved = dict(node)
    for _ in range(8):
        if "$ref" in resolved:
            ref = str(resolved.pop("$ref"))
            target: Any = schema
            for part in ref.removeprefix("#/").split("/"):
                target = target.get(part, {}) if isinstance(target, Mapping) else {}
            # A definition's title and description say what the type is (``WishCategory``),
            # not what the field asks: the property's own keep their place.
            shared = {k: v for k, v in dict(target).items() if k not in ("title", "description")}
            resolved = {**shared, **resolved}
        elif isinstance(resolved.get("allOf"), list) and len(resolved["allOf"]) == 1:
            inner = resolved.pop("allOf")[0]
            resolved = {**dict(inner), **resolved}
        else:
            break
    return resolved


def _unwrap(schema: Mapping[str, Any], prop: Mapping[str, Any]) -> tuple[dict[str, Any], bool]:
    """The property's own schema and whether it may be null (``anyOf: [X, null]``)."""
    node = _resolve(schema, prop)
    options = node.get("anyOf") or node.get("oneOf")
    if isinstance(options, list):
        rest = [o for o in options if not (isinstance(o, Mapping) and o.get("type") == "null")]
        nullable = len(rest) < len(options)
        if len(rest) == 1:
            outer = {k: v for k, v in node.items() if k not in ("anyOf", "oneOf")}
            return {**_resolve(schema, rest[0]), **outer}, nullable
        return node, nullable
    kind = node.get("type")
    if isinstance(kind, list):
        others = [k for k in kind if k != "null"]
        return {**node, "type": others[0] if len(others) == 1 else others}, "null" in kind
    return node, False


def _enum_of(node: Mapping[str, Any]) -> list[Any] | None:
    if isinstance(node.get("enum"), list):
        return list(node["enum"])
    if "const" in node:
        return [node["const"]]
    return None


def _kind_of(schema: Mapping[str, Any], node: Mapping[str, Any], *, has_default: bool) -> FieldKind:
    kind = node.get("type")
    enum = _enum_of(node)
    if enum is not None:
        return "radio" if len(enum) <= _RADIO_UP_TO else "select"
    if kind == "boolean":
        return "checkbox" if has_default else "yesno"
    if kind == "integer":
        return "integer"
    if kind == "number":
        return "number"
    if kind == "array":
        items = _unwrap(schema, node.get("items") or {})[0]
        if _enum_of(items) is not None:
            return "multi"
        if items.get("type") in ("string", "integer", "number"):
            return "lines"
        return "json"
    if kind == "string":
        fmt = node.get("format")
        if fmt == "date":
            return "date"
        if fmt == "date-time":
            return "datetime"
        longest = node.get("maxLength")
        return "textarea" if longest is None or longest >= _TEXTAREA_FROM else "text"
    return "json"


def _shown(value: Any) -> str:
    """A JSON value as the text an input shows."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "\n".join(_shown(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _attrs(kind: FieldKind, node: Mapping[str, Any]) -> dict[str, str]:
    attrs: dict[str, str] = {}
    if kind in ("integer", "number"):
        for key, html in (("minimum", "min"), ("maximum", "max")):
            if key in node:
                attrs[html] = str(node[key])
        attrs["step"] = "1" if kind == "integer" else "any"
        attrs["inputmode"] = "numeric" if kind == "integer" else "decimal"
    elif kind in ("text", "textarea") and "maxLength" in node:
        attrs["maxlength"] = str(node["maxLength"])
    return attrs


# --- errors -----------------------------------------------------------------------------------


def field_errors(
    problems: Iterable[Any], *, names: Iterable[str], prefix: str = "data"
) -> tuple[dict[str, str], list[str]]:
    """Split a refusal's problems into messages per form field and messages for the whole form.

    Args:
        problems: :class:`~careflow.access.form_errors.FieldProblem` s (or dicts with ``field``
            and ``message``), fields like ``data.quantity`` or ``data.items.2``.
        names: The form's field names.
        prefix: The path prefix the action put before field names.

    Returns:
        ``{field name: message}`` (several messages of one field joined) and the messages that
        name no field of the form (a rule across fields).
    """
    known = set(names)
    per_field: dict[str, list[str]] = {}
    general: list[str] = []
    for problem in problems:
        where = str(_get(problem, "field") or "")
        message = str(_get(problem, "message") or "")
        path = where.removeprefix(prefix).lstrip(".") if where.startswith(prefix) else where
        head, _, rest = path.partition(".")
        if head in known:
            if rest.isdigit():
                message = f"第 {int(rest) + 1} 行 line {int(rest) + 1}: {message}"
            per_field.setdefault(head, []).append(message)
        else:
            general.append(message)
    return {name: "；".join(messages) for name, messages in per_field.items()}, general


def _get(problem: Any, key: str) -> Any:
    if isinstance(problem, Mapping):
        return problem.get(key)
    return getattr(problem, key, None)


# --- building the fields ----------------------------------------------------------------------


def form_fields(
    schema: Mapping[str, Any],
    *,
    posted: FormValues | None = None,
    errors: Mapping[str, str] | None = None,
    only: Iterable[str] | None = None,
) -> list[FormField]:
    """The fields of a form for ``schema``, in the schema's order.

    Args:
        schema: A JSON Schema of an object (pydantic's ``model_json_schema()``).
        posted: What the person entered (after a refusal): shown again instead of defaults.
        errors: Field-level messages (see :func:`field_errors`).
        only: Render only these properties (e.g. a start form without the district).

    Returns:
        One :class:`FormField` per property.
    """
    required = set(schema.get("required") or ())
    errors = errors or {}
    wanted = None if only is None else set(only)
    fields: list[FormField] = []
    for name, raw in (schema.get("properties") or {}).items():
        if wanted is not None and name not in wanted:
            continue
        node, nullable = _unwrap(schema, raw if isinstance(raw, Mapping) else {})
        has_default = "default" in node
        kind = _kind_of(schema, node, has_default=has_default)
        label, label_en = field_label(name, node.get("title"))
        description = node.get("description")
        entered = None if posted is None else list(posted.get(name, ()))
        item = FormField(
            name=name,
            kind=kind,
            label=label,
            label_en=label_en,
            help=str(description) if description else None,
            required=name in required,
            error=errors.get(name),
            attrs=_attrs(kind, node),
        )
        default = node.get("default")
        if kind == "checkbox":
            item.checked = bool(default) if entered is None else _truthy(entered)
        elif kind in ("yesno", "radio", "select", "multi"):
            item.choices = _choices(schema, node, kind, name, entered, default, nullable)
        elif entered is not None:
            item.value = entered[0] if entered else ""
        elif default is not None:
            item.value = _shown(default)
        fields.append(item)
    return fields


def _truthy(values: Sequence[str]) -> bool:
    return any(v.strip().lower() in ("on", "true", "1", "yes") for v in values)


def _choices(
    schema: Mapping[str, Any],
    node: Mapping[str, Any],
    kind: FieldKind,
    name: str,
    entered: list[str] | None,
    default: Any,
    nullable: bool,
) -> list[Choice]:
    if kind == "yesno":
        options: list[tuple[str, str]] = [("true", "是 yes"), ("false", "否 no")]
    else:
        source = node if kind != "multi" else _unwrap(schema, node.get("items") or {})[0]
        options = [(_shown(v), choice_label(name, v)) for v in _enum_of(source) or []]
    if entered is not None:
        chosen = set(entered)
    elif default is None:
        chosen = set()
    elif isinstance(default, list):
        chosen = {_shown(v) for v in default}
    else:
        chosen = {_shown(default)}
    choices = [Choice(value, label, value in chosen) for value, label in options]
    if kind == "select" and (nullable or "default" not in node):
        choices.insert(0, Choice("", "请选择 choose", not chosen or chosen == {""}))
    return choices


# --- reading a post ---------------------------------------------------------------------------


def _number(text: str, kind: FieldKind) -> Any:
    try:
        return int(text) if kind == "integer" else _float_or_int(text)
    except ValueError:
        return text


def _float_or_int(text: str) -> float | int:
    number = float(text)
    return int(number) if number.is_integer() and "." not in text and "e" not in text else number


def _typed_choice(value: str, enum: list[Any]) -> Any:
    for option in enum:
        if _shown(option) == value:
            return option
    return value


def parse_form(schema: Mapping[str, Any], posted: FormValues) -> dict[str, Any]:
    """The JSON object a form post means, typed as ``schema`` declares.

    An empty field is left out (so the schema's default applies, or a required field is
    reported missing); an unticked checkbox is ``false``; a yes/no is ``true``/``false``;
    numbers become ``int``/``float``; one-per-line lists become lists (empty lines dropped);
    a ``datetime-local`` value is read as Asia/Shanghai time. A value that does not convert is
    passed on as text for the validation to refuse. Fields the schema does not name (the CSRF
    token, the idempotency key) are ignored.
    """
    data: dict[str, Any] = {}
    required = set(schema.get("required") or ())
    for name, raw in (schema.get("properties") or {}).items():
        node, _nullable = _unwrap(schema, raw if isinstance(raw, Mapping) else {})
        kind = _kind_of(schema, node, has_default="default" in node)
        values = [v for v in posted.get(name, ()) if isinstance(v, str)]
        if kind == "checkbox":
            data[name] = _truthy(values)
            continue
        if kind == "multi":
            items = _unwrap(schema, node.get("items") or {})[0]
            chosen = [v for v in values if v != ""]
            data[name] = [_typed_choice(v, _enum_of(items) or []) for v in chosen]
            continue
        text = values[0].strip() if values else ""
        if kind == "lines":
            lines = [line.strip() for line in text.splitlines() if line.strip()]
            items = _unwrap(schema, node.get("items") or {})[0]
            item_kind = items.get("type")
            if item_kind in ("integer", "number"):
                kind_of_item: FieldKind = "integer" if item_kind == "integer" else "number"
                typed: list[Any] = [_number(line, kind_of_item) for line in lines]
            else:
                typed = list(lines)
            if typed or name in required:
                data[name] = typed
            continue
        if text == "":
            continue
        if kind == "yesno":
            data[name] = {"true": True, "false": False}.get(text, text)
        elif kind in ("radio", "select"):
            data[name] = _typed_choice(text, _enum_of(node) or [])
        elif kind in ("integer", "number"):
            data[name] = _number(text, kind)
        elif kind == "datetime":
            data[name] = text if len(text) > 16 else f"{text}:00{_CN_TZ}"
        elif kind == "json":
            try:
                data[name] = json.loads(text)
            except ValueError:
                data[name] = text
        else:
            data[name] = text
    return data
