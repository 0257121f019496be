"""The shapes of external input: bounded ids and text, registry references, strict validation.

Everything a person or a partner system sends (a start request, an event, a form) passes
through :func:`validate_external` before it reaches Temporal or the database. The limits here
are the single source: the app database's columns take their lengths from them
(``careflow.db.tables``), so a value accepted at the boundary always fits where it is stored,
and every id fits in a Temporal workflow id.

Pure module: workflows import it through the sandbox passthrough (forms and requests use its
types), so it does no I/O. Checking registry references against the database is
``careflow.db.refs``'s job.
"""

from __future__ import annotations

import json
import re
import types
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any, Literal, TypeVar, Union

from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints, ValidationError

from careflow.errors import InputError, PayloadError, format_loc

__all__ = [
    "CASE_REF_MAX",
    "CODE_MAX",
    "MAX_DEPTH",
    "MAX_ITEMS",
    "MAX_PAYLOAD_BYTES",
    "NOTE_MAX",
    "REF_MAX",
    "TEXT_MAX",
    "ActorId",
    "AreaCode",
    "CaseRef",
    "Code",
    "ExternalModel",
    "Note",
    "Ref",
    "RegistryRef",
    "ShortText",
    "case_ref_problem",
    "check_case_ref",
    "check_id",
    "registry_refs",
    "validate_external",
]

ModelT = TypeVar("ModelT", bound=BaseModel)

# --- limits -------------------------------------------------------------------------------------

CODE_MAX = 64
"""Codes: process ids, district and community codes, categories, device ids."""
REF_MAX = 32
"""Registry ids and other opaque references (``P00012``, ``D0003``, ``S0001``, ``BK-…``)."""
CASE_REF_MAX = 32
"""Case references a caller gives (start, event): short, so they cannot carry a name or an
address; the case refs processes make from them (``<ref>.gc``) fit the 128 of the columns."""
TEXT_MAX = 200
"""Short free text: a title, a description, a reason."""
NOTE_MAX = 2000
"""Long free text: findings and notes."""
MAX_ITEMS = 500
"""The longest list any external payload may carry (items, children, communities)."""
MAX_DEPTH = 16
"""The deepest nesting of objects and lists in any external payload."""
MAX_PAYLOAD_BYTES = 256 * 1024
"""The largest external payload, as UTF-8 JSON: far below Temporal's 2 MB blob limit."""

# Letters and digits first; then letters, digits and ``_ . : -``. No spaces, slashes, control
# or bidi characters: ids end up in workflow ids, file names and log lines.
_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$"
_ID_RE = re.compile(_ID_PATTERN)
# C0/C1 controls except tab and newline, and the Unicode bidi controls that can make text read
# differently from what it holds (Trojan Source).
_UNSAFE_TEXT = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u200e\u200f]")


# A case ref a caller gives: ASCII letters and digits first, then those and ``_ . -``.
_CASE_REF_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
_CASE_REF_RE = re.compile(_CASE_REF_PATTERN)
# 15 or more digits in a row is (part of) an ID number 身份证号 (15 or 18 digits); 11 in a row
# starting with 1 is a mainland mobile number. Neither belongs in an id that stays readable.
_ID_NUMBER = re.compile(r"[0-9]{15,}")
_MOBILE = re.compile(r"1[0-9]{10}")


def case_ref_problem(value: str) -> str | None:
    """What is wrong with a case ref a caller gave, or None when it is fine.

    The rule of :data:`CaseRef`: 1 to :data:`CASE_REF_MAX` ASCII letters, digits and ``_ . -``
    (a letter or digit first), and no run of digits that reads as an ID number (15 or more)
    or a mobile number (11 starting with 1).
    """
    if not value:
        return "must not be empty · 不能为空"
    if len(value) > CASE_REF_MAX:
        return f"at most {CASE_REF_MAX} characters · 最多 {CASE_REF_MAX} 个字符"
    if not _CASE_REF_RE.match(value):
        return (
            "only ASCII letters, digits and _ . - (a letter or digit first) "
            "· 只能包含英文字母、数字和 _ . -"
        )
    if _ID_NUMBER.search(value):
        return (
            "must not hold an ID number (15 or more digits in a row); use a registry id or a "
            "case number · 不能包含身份证号"
        )
    if _MOBILE.search(value):
        return (
            "must not hold a mobile number (11 digits starting with 1); use a registry id or a "
            "case number · 不能包含手机号"
        )
    return None


def _case_ref(value: str) -> str:
    problem = case_ref_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


def check_case_ref(value: str, *, field: str = "case_ref") -> str:
    """Check a case ref given outside a model (a CLI option), raising ``InputError`` naming it."""
    problem = case_ref_problem(value)
    if problem is not None:
        raise InputError(field, problem)
    return value


def _safe_text(value: str) -> str:
    if _UNSAFE_TEXT.search(value):
        raise ValueError("text must not contain control or bidi characters")
    return value


Code = Annotated[str, StringConstraints(min_length=1, max_length=CODE_MAX, pattern=_ID_PATTERN)]
"""A code such as ``school_bag`` or ``wanbailin.wanghua.jiusi``."""
Ref = Annotated[str, StringConstraints(min_length=1, max_length=REF_MAX, pattern=_ID_PATTERN)]
"""An opaque reference such as a registry id."""
CaseRef = Annotated[
    str,
    StringConstraints(min_length=1, max_length=CASE_REF_MAX, pattern=_CASE_REF_PATTERN),
    AfterValidator(_case_ref),
]
"""A case reference a caller gives (see :func:`case_ref_problem`); the service keys it into
the workflow id (``careflow.privacy.pseudonyms``)."""
ActorId = Ref
"""The id of a staff account or system that acts."""
ShortText = Annotated[str, StringConstraints(max_length=TEXT_MAX), AfterValidator(_safe_text)]
"""One line of free text."""
Note = Annotated[str, StringConstraints(max_length=NOTE_MAX), AfterValidator(_safe_text)]
"""A longer free-text note or finding."""


def check_id(field: str, value: str, *, max_length: int = CODE_MAX) -> str:
    """Check an id given outside a model (a CLI option), raising ``InputError`` naming it."""
    if not value:
        raise InputError(field, "must not be empty · 不能为空")
    if len(value) > max_length:
        raise InputError(field, f"at most {max_length} characters · 最多 {max_length} 个字符")
    if not _ID_RE.match(value):
        raise InputError(
            field,
            "only letters, digits and _ . : - (no spaces, slashes or control characters) "
            "· 只能包含字母、数字和 _ . : -",
        )
    return value


# --- registry references ------------------------------------------------------------------------

RefKind = Literal["person", "donor", "staff", "volunteer", "provider", "community"]


@dataclass(frozen=True, slots=True)
class RegistryRef:
    """Marks a field whose value must name a row of the registry, e.g.
    ``recipient_ref: Annotated[Ref, RegistryRef("person")]`` or
    ``communities: list[Annotated[Code, RegistryRef("community")]]``.

    The service checks marked values against the app database before anything is started or
    sent, so a delivery to ``P99999`` or a campaign over another district's community is
    refused at the boundary, naming the field.

    Attributes:
        kind: Which registry the value names.
        person_kind: For persons, the kind it must be (``elder``, ``child`` or ``adult``).
        in_district: The row must belong to the request's district (always so for
            communities).
    """

    kind: RefKind
    person_kind: str | None = None
    in_district: bool = True


AreaCode = Annotated[Code, RegistryRef("community")]
"""A community code that must be a community of the request's district."""


def registry_refs(model: BaseModel, *, prefix: str = "") -> Iterator[tuple[str, RegistryRef, str]]:
    """Every marked registry reference in a validated model, as ``(field path, marker, value)``."""
    for name, info in type(model).model_fields.items():
        value = getattr(model, name)
        where = f"{prefix}.{name}" if prefix else name
        markers = [m for m in info.metadata if isinstance(m, RegistryRef)]
        yield from _refs_in(value, info.annotation, markers, where)


def _refs_in(
    value: Any, annotation: Any, markers: list[RegistryRef], where: str
) -> Iterator[tuple[str, RegistryRef, str]]:
    if value is None:
        return
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        base, *meta = typing.get_args(annotation)
        found = markers + [m for m in meta if isinstance(m, RegistryRef)]
        yield from _refs_in(value, base, found, where)
        return
    if origin in (Union, types.UnionType):
        for arg in typing.get_args(annotation):
            if _matches(value, arg):
                yield from _refs_in(value, arg, markers, where)
                return
        return
    if isinstance(value, str):
        for marker in markers:
            yield where, marker, value
        return
    if isinstance(value, BaseModel):
        yield from registry_refs(value, prefix=where)
        return
    if isinstance(value, (list, tuple, set, frozenset)):
        args = typing.get_args(annotation)
        item_type = args[0] if args else Any
        for index, item in enumerate(value):
            yield from _refs_in(item, item_type, markers, f"{where}.{index}")
        return
    if isinstance(value, dict):
        args = typing.get_args(annotation)
        item_type = args[1] if len(args) == 2 else Any
        for key, item in value.items():
            yield from _refs_in(item, item_type, markers, f"{where}.{key}")


def _matches(value: Any, annotation: Any) -> bool:
    if typing.get_origin(annotation) is Annotated:
        annotation = typing.get_args(annotation)[0]
    origin = typing.get_origin(annotation) or annotation
    if annotation is type(None):
        return value is None
    try:
        return isinstance(value, origin)
    except TypeError:  # Literal[...] and the like: not a reference container
        return False


# --- strict validation --------------------------------------------------------------------------


class ExternalModel(BaseModel):
    """Base of every model that external input validates against.

    Unknown fields are refused (a misspelt field must not be silently dropped). Strictness
    (no ``"3"`` or ``true`` for a number) is applied by :func:`validate_external`, which
    validates the JSON form, so dates and enums still arrive as strings.
    """

    model_config = ConfigDict(extra="forbid")


def _encodable(text: str) -> bool:
    # A lone surrogate ("\udfff") parses from JSON but cannot be stored or sent.
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _check_shape(data: Any, field: str) -> None:
    """Refuse payloads too deep, too long or holding text that cannot be stored."""
    stack: list[tuple[Any, str, int]] = [(data, field, 1)]
    while stack:
        value, where, depth = stack.pop()
        if isinstance(value, str):
            if not _encodable(value):
                raise InputError(where, "text is not valid Unicode · 文本编码无效")
            continue
        if isinstance(value, dict | list | tuple):
            if depth > MAX_DEPTH:
                raise InputError(where, f"nested deeper than {MAX_DEPTH} levels · 嵌套过深")
            if len(value) > MAX_ITEMS:
                raise InputError(where, f"more than {MAX_ITEMS} entries · 条目过多")
            if isinstance(value, dict):
                for key, item in value.items():
                    if not isinstance(key, str) or not _encodable(key):
                        raise InputError(where, "object keys must be valid text · 键名无效")
                    stack.append((item, f"{where}.{format_loc([key])}", depth + 1))
            else:
                stack.extend((item, f"{where}.{i}", depth + 1) for i, item in enumerate(value))


def validate_external(model: type[ModelT], data: Any, *, field: str) -> ModelT:
    """Validate external input strictly, or raise ``InputError`` naming the failing field.

    Args:
        model: The request, event or form model.
        data: What was sent: parsed JSON (or a model built by trusted code).
        field: The name of the whole payload in messages (``input``, ``data``).

    Raises:
        InputError: Too deep, too large or unencodable; ``PayloadError`` (a subclass) for every
            field that does not validate, with its full path under ``field``.
    """
    if isinstance(data, BaseModel):
        data = data.model_dump(mode="json")
    _check_shape(data, field)
    try:
        raw = json.dumps(data, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as err:
        raise InputError(field, f"not JSON data: {err}") from None
    if len(raw.encode("utf-8")) > MAX_PAYLOAD_BYTES:
        raise InputError(field, f"larger than {MAX_PAYLOAD_BYTES // 1024} KiB · 数据过大")
    try:
        return model.model_validate_json(raw, strict=True)
    except ValidationError as err:
        raise PayloadError(field, err) from err
