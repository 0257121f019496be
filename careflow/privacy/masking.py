"""Masking personal data for display: the one set of rules the console, the API and the CLI use.

Personal fields are shown masked by default (PIPL art. 51: de-identification); a person whose
grant allows it sees one record in clear for one request, with a stated reason
(:mod:`careflow.access.actions.unmask`). Everything here is pure: no I/O, no state.

The rules, exactly (``tests/careflow/privacy/test_masking.py`` holds an example of each):

``name``
    Surrounding spaces are dropped. The first character and, for names of three or more,
    the last are shown; every other character becomes ``*``: ``张三`` → ``张*``, ``张小明`` →
    ``张*明``, ``欧阳小明`` → ``欧**明``. Separators of transliterated names (``·`` and its
    look-alikes, spaces) stay: ``阿依古丽·买买提`` → ``阿***·**提``. A one-character name is
    ``*``.
``phone``
    Only digits (of any script, full-width too) are masked; spaces, dashes, brackets and
    ``+`` stay where they are. A country
    code ``+86`` (or ``86`` before a mobile number) is shown. A mobile number (11 digits
    starting with 1) shows its first three and last four digits: ``138****5678``. A landline
    with its area code (10 to 12 digits starting with 0) shows the area code (three digits for
    ``010`` and ``02x``, else four) and the last four: ``0351-***3456``. A local number of 7
    or 8 digits shows its last four: ``***3456``. Any other number shows its last two digits
    if it has five or more, else none.
``id_number``
    Spaces are dropped; only the last four characters are shown, a lower-case check
    character ``x`` as ``X``: ``14010519500315123x`` → ``**************123X``. Four
    characters or fewer are masked entirely.
``address``
    The administrative part is kept up to the finest of: the last ``社区``; else the last
    ``街道``, ``镇`` or ``乡``; else the last ``区`` (not ``小区``, a housing estate) or ``县``;
    else the last ``市``; else the last ``省``. What follows (building, unit, room) becomes
    ``****``: ``九寺社区12号楼3单元1502室`` → ``九寺社区****``. An address without any of
    these becomes ``****``.
``health``
    A reading, advice or rule is hidden entirely: ``已隐藏`` (a list becomes that one line).

Lists are masked item by item (health: as a whole); ``None`` stays ``None``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Final, Literal, get_args

if TYPE_CHECKING:
    from careflow.task_context import ContextItem

__all__ = [
    "HIDDEN",
    "MASKED_HEALTH",
    "PERSONAL_KINDS",
    "Personal",
    "mask_address",
    "mask_fields",
    "mask_health",
    "mask_id_number",
    "mask_item",
    "mask_items",
    "mask_name",
    "mask_phone",
    "mask_text",
    "mask_value",
]

Personal = Literal["name", "phone", "id_number", "address", "health"]
"""The kinds of personal data a shown value may hold."""

PERSONAL_KINDS: Final[tuple[Personal, ...]] = get_args(Personal)
"""Every kind, in the order above."""

HIDDEN: Final = "****"
"""What the hidden part of an address (or a whole address) is shown as."""

MASKED_HEALTH: Final = "已隐藏"
"""What a health reading is shown as."""

# The middle dots transliterated names use (U+00B7, U+2022, U+30FB, U+2027), and spaces.
_NAME_SEPARATORS: Final = frozenset("\u00b7\u2022\u30fb\u2027 ")
# Address units from the finest level shown (a community) to the coarsest (a province).
_ADDRESS_LEVELS: Final = (
    re.compile(r"社区"),
    re.compile(r"街道|镇|乡"),
    re.compile(r"(?<![小社])区|县"),
    re.compile(r"市"),
    re.compile(r"省"),
)


def mask_name(name: str) -> str:
    """A name with all but its first (and, from three characters, last) character masked.

    Args:
        name: A person's name.

    Returns:
        ``张*明`` for ``张小明``; separators of transliterated names kept.
    """
    text = name.strip()
    letters = [i for i, ch in enumerate(text) if ch not in _NAME_SEPARATORS]
    if len(letters) <= 1:
        return "*" if letters else text
    shown = {letters[0]} if len(letters) == 2 else {letters[0], letters[-1]}
    return "".join(ch if i in shown or ch in _NAME_SEPARATORS else "*" for i, ch in enumerate(text))


def _phone_window(number: str, *, international: bool) -> tuple[int, int, int]:
    """How many leading digits are a country code, then shown, and how many trailing shown."""
    code = 2 if number.startswith("86") and (international or len(number) == 13) else 0
    rest = number[code:]
    if len(rest) == 11 and rest.startswith("1"):
        return code, 3, 4
    if rest.startswith("0") and 10 <= len(rest) <= 12:
        return code, 3 if rest[1:2] in ("1", "2") else 4, 4
    if 7 <= len(rest) <= 8:
        return code, 0, 4
    return code, 0, 2 if len(rest) >= 5 else 0


def mask_phone(phone: str) -> str:
    """A phone number with its middle digits masked (see the module's rules).

    Args:
        phone: A mobile or landline number as written (spaces, dashes and ``+86`` allowed).

    Returns:
        ``138****5678`` for ``13812345678``, ``0351-***3456`` for ``0351-6123456``.
    """
    text = phone.strip()
    # Any decimal digit counts (full-width ``１３８…`` too), so none is left in clear.
    positions = [i for i, ch in enumerate(text) if ch.isdecimal()]
    number = "".join(str(unicodedata.decimal(text[i])) for i in positions)
    code, head, tail = _phone_window(number, international=text.startswith("+"))
    hidden = set(positions[code + head : len(positions) - tail])
    return "".join("*" if i in hidden else ch for i, ch in enumerate(text))


def mask_id_number(id_number: str) -> str:
    """An ID number with only its last four characters shown.

    Args:
        id_number: A resident ID number (18 characters, the last may be ``X``) or another
            document number.

    Returns:
        ``**************1234`` for an 18-character number; all ``*`` for four or fewer.
    """
    text = "".join(id_number.split())
    if len(text) <= 4:
        return "*" * len(text)
    return "*" * (len(text) - 4) + text[-4:].upper()


def mask_address(address: str) -> str:
    """An address with everything below its community (or finest area named) hidden.

    Args:
        address: A postal address as written in the registry.

    Returns:
        ``九寺社区****`` for ``九寺社区12号楼3单元1502室``; ``****`` when no area is named.
    """
    text = address.strip()
    for level in _ADDRESS_LEVELS:
        ends = [m.end() for m in level.finditer(text)]
        if ends:
            kept = text[: ends[-1]]
            return kept if len(kept) == len(text) else kept + HIDDEN
    return HIDDEN


def mask_health(_reading: object) -> str:
    """A health reading, advice or rule, hidden entirely.

    Returns:
        :data:`MASKED_HEALTH`.
    """
    return MASKED_HEALTH


def mask_text(kind: Personal, text: str) -> str:
    """One piece of text masked as its kind requires.

    Args:
        kind: The kind of personal data ``text`` is.
        text: The value in clear.
    """
    if kind == "name":
        return mask_name(text)
    if kind == "phone":
        return mask_phone(text)
    if kind == "id_number":
        return mask_id_number(text)
    if kind == "address":
        return mask_address(text)
    return mask_health(text)


def mask_value(kind: Personal, value: Any) -> Any:
    """A shown value (text, number, list of lines or ``None``) masked as its kind requires.

    Args:
        kind: The kind of personal data ``value`` holds.
        value: The value in clear.

    Returns:
        ``None`` for ``None``; :data:`MASKED_HEALTH` for any health value; a list masked line
        by line; anything else masked as text.
    """
    if value is None:
        return None
    if kind == "health":
        return mask_health(value)
    if isinstance(value, list | tuple):
        return [mask_text(kind, str(v)) for v in value]
    return mask_text(kind, str(value))


def mask_item(item: ContextItem) -> ContextItem:
    """A context item with its value masked as its ``personal`` kind requires.

    Args:
        item: A :class:`careflow.task_context.ContextItem`.

    Returns:
        ``item`` itself when it holds no personal data, else a masked copy.
    """
    if item.personal is None or item.value is None:
        return item
    return item.model_copy(update={"value": mask_value(item.personal, item.value)})


def mask_items(
    items: Iterable[ContextItem], *, clear: Collection[Personal] = ()
) -> list[ContextItem]:
    """Items masked, except those of the kinds in ``clear``.

    Args:
        items: Context items of a task or a record.
        clear: Kinds the viewer may see in clear for this one request (none by default).
    """
    return [item if item.personal in clear else mask_item(item) for item in items]


def mask_fields(
    data: Mapping[str, Any],
    kinds: Mapping[str, Personal],
    *,
    clear: Collection[Personal] = (),
) -> dict[str, Any]:
    """A copy of a flat record with its personal fields masked by kind.

    Args:
        data: Field name → value (``{"name": "张小明", "phone": "13812345678"}``).
        kinds: Which fields are personal, and of which kind (``{"name": "name"}``); fields
            not named here are copied as they are.
        clear: Kinds left in clear for this one request.

    Raises:
        ValueError: ``kinds`` names a kind that does not exist.
    """
    unknown = sorted(k for k in kinds.values() if k not in PERSONAL_KINDS)
    if unknown:
        raise ValueError(f"unknown kinds of personal data: {', '.join(unknown)}")
    return {
        key: value if key not in kinds or kinds[key] in clear else mask_value(kinds[key], value)
        for key, value in data.items()
    }
