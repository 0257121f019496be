"""AES-256 keys for payload encryption: a key ring, from the environment or a key file.

A key ring holds one **active** key, which encrypts every new payload, and any number of older
keys kept only to decrypt the histories written under them; so a key rotates without losing a
single history. Keys come from, in this order:

1. ``CAREFLOW_CODEC_KEYS``: ``id:base64key,id:base64key`` (the first is active), for
   deployments whose secrets arrive as environment variables;
2. else the key file ``CAREFLOW_CODEC_KEY_FILE`` (default ``<data_dir>/codec-keys.json``), mode
   0600, written by ``careflow keys init`` / ``careflow keys rotate`` and by ``careflow dev`` on
   its first run.

Never from the repository. Key material never reaches a log line, a ``repr`` or an error
message: only key ids do.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import os
import re
import secrets
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

from careflow.codec.errors import KeyConfigError
from careflow.settings import Settings

__all__ = [
    "KEYS_ENV",
    "KEY_BYTES",
    "KEY_FILE_ENV",
    "KEY_FILE_FORMAT",
    "KEY_FILE_NAME",
    "CodecKey",
    "KeyRing",
    "generate_key",
    "key_file_path",
    "load_key_ring",
    "parse_keys",
    "read_key_file",
    "rotate_key_file",
    "write_key_file",
]

KEYS_ENV = "CAREFLOW_CODEC_KEYS"
KEY_FILE_ENV = "CAREFLOW_CODEC_KEY_FILE"
KEY_FILE_NAME = "codec-keys.json"
KEY_FILE_FORMAT = "careflow-codec-keys/1"
KEY_BYTES = 32
"""AES-256: 32 bytes of key material."""

_KEY_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


@dataclass(frozen=True, slots=True, kw_only=True)
class CodecKey:
    """One AES-256 key: its id (written into every payload it encrypts) and its material.

    Attributes:
        key_id: Letters, digits, ``.``, ``_`` and ``-``, at most 64 characters.
        material: 32 bytes; never shown by ``repr``.
        created: When the key was made (UTC); None for a key given in the environment.
    """

    key_id: str
    material: bytes = field(repr=False)
    created: datetime | None = None

    def __post_init__(self) -> None:
        if not _KEY_ID.match(self.key_id):
            raise KeyConfigError(
                "key_id",
                f"{self.key_id!r} is not a key id (letters, digits, . _ -; at most 64)",
            )
        if len(self.material) != KEY_BYTES:
            raise KeyConfigError(
                "key",
                f"key {self.key_id!r} is {len(self.material)} bytes; AES-256 needs {KEY_BYTES}",
            )


class KeyRing:
    """Keys by id; the first is active (encrypts), all decrypt.

    Args:
        keys: At least one key, the active one first; ids unique.
        source: Where the ring came from (``CAREFLOW_CODEC_KEYS`` or the key file's path), for
            messages.

    Raises:
        KeyConfigError: No key, or an id given twice.
    """

    __slots__ = ("_by_id", "_keys", "source")

    def __init__(self, keys: Sequence[CodecKey], *, source: str) -> None:
        if not keys:
            raise KeyConfigError(KEYS_ENV, f"{source}: the key ring holds no key")
        by_id: dict[str, CodecKey] = {}
        for key in keys:
            if key.key_id in by_id:
                raise KeyConfigError(KEYS_ENV, f"{source}: key id {key.key_id!r} given twice")
            by_id[key.key_id] = key
        self._keys = tuple(keys)
        self._by_id = by_id
        self.source = source

    @property
    def active(self) -> CodecKey:
        """The key new payloads are encrypted with."""
        return self._keys[0]

    @property
    def ids(self) -> tuple[str, ...]:
        """Every key id, the active one first."""
        return tuple(k.key_id for k in self._keys)

    def get(self, key_id: str) -> CodecKey | None:
        """The key of ``key_id``, or None when the ring does not hold it."""
        return self._by_id.get(key_id)

    def __contains__(self, key_id: object) -> bool:
        return key_id in self._by_id

    def __iter__(self) -> Iterator[CodecKey]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)

    def __repr__(self) -> str:
        return f"KeyRing(ids={self.ids!r}, source={self.source!r})"

    def rotated(self, new: CodecKey) -> KeyRing:
        """This ring with ``new`` as the active key; every older key kept for decryption."""
        return KeyRing([new, *self._keys], source=self.source)


def generate_key(*, now: datetime | None = None) -> CodecKey:
    """A fresh random key, its id made of the UTC date and random hex (``k20261201-3fa9c2``)."""
    when = (now or datetime.now(UTC)).astimezone(UTC)
    key_id = f"k{when:%Y%m%d}-{secrets.token_hex(3)}"
    return CodecKey(key_id=key_id, material=secrets.token_bytes(KEY_BYTES), created=when)


def _material(text: str, *, key_id: str, field_name: str) -> bytes:
    try:
        return base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise KeyConfigError(
            field_name, f"key {key_id!r} is not valid base64 (expected 32 bytes in base64)"
        ) from None


def _checked(make: Callable[[], CodecKey], field_name: str) -> CodecKey:
    """Build a key, naming the setting (not the dataclass field) when it is refused."""
    try:
        return make()
    except KeyConfigError as err:
        raise KeyConfigError(field_name, err.problem) from None


def parse_keys(text: str, *, field_name: str = KEYS_ENV) -> KeyRing:
    """A key ring from ``id:base64key,id:base64key`` (the first active).

    Raises:
        KeyConfigError: An entry without ``id:``, an id given twice, material that is not
            base64 of 32 bytes; the message names the key id, never the material.
    """
    keys: list[CodecKey] = []
    for position, entry in enumerate(p.strip() for p in text.split(",")):
        if not entry:
            continue
        key_id, sep, value = entry.partition(":")
        key_id = key_id.strip()
        if not sep or not key_id:
            raise KeyConfigError(
                field_name, f"entry {position + 1} is not id:base64key (e.g. k2:<44 characters>)"
            )
        material = _material(value, key_id=key_id, field_name=field_name)
        keys.append(_checked(partial(CodecKey, key_id=key_id, material=material), field_name))
    if not keys:
        raise KeyConfigError(field_name, "is set but holds no key (id:base64key,…)")
    return KeyRing(keys, source=field_name)


def key_file_path(settings: Settings) -> Path:
    """The key file the settings name: ``codec_key_file``, else ``<data_dir>/codec-keys.json``."""
    chosen = settings.codec_key_file
    return chosen.expanduser() if chosen is not None else settings.data_dir / KEY_FILE_NAME


def _check_private(path: Path) -> None:
    if sys.platform == "win32":  # pragma: no cover - no POSIX modes there
        return
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise KeyConfigError(
            KEY_FILE_ENV,
            f"{path} is readable by others (mode {mode:04o}); run `chmod 600 {path}`",
        )


def read_key_file(path: Path) -> KeyRing:
    """The key ring stored in ``path``.

    Raises:
        KeyConfigError: The file is missing, readable by others, not a key file, or holds a
            bad key (named by id).
    """
    try:
        _check_private(path)
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise KeyConfigError(
            KEYS_ENV,
            f"no codec key: set {KEYS_ENV} (id:base64key,…) or create {path} with "
            "`careflow keys init` (`careflow dev` makes one on its first run)",
        ) from None
    except (OSError, ValueError) as err:
        raise KeyConfigError(KEY_FILE_ENV, f"cannot read {path}: {err}") from None
    if not isinstance(data, dict) or data.get("format") != KEY_FILE_FORMAT:
        raise KeyConfigError(KEY_FILE_ENV, f"{path} is not a careflow key file ({KEY_FILE_FORMAT})")
    entries = data.get("keys")
    if not isinstance(entries, list):
        raise KeyConfigError(KEY_FILE_ENV, f"{path}: 'keys' must be a list")
    keys = []
    for position, entry in enumerate(entries):
        if not isinstance(entry, dict) or not all(
            isinstance(entry.get(k), str) for k in ("id", "key")
        ):
            raise KeyConfigError(KEY_FILE_ENV, f"{path}: keys.{position} needs 'id' and 'key'")
        key_id = entry["id"]
        created = None
        if isinstance(entry.get("created"), str):
            try:
                created = datetime.fromisoformat(entry["created"]).astimezone(UTC)
            except ValueError:
                raise KeyConfigError(
                    KEY_FILE_ENV, f"{path}: keys.{position}.created is not an ISO time"
                ) from None
        material = _material(entry["key"], key_id=key_id, field_name=KEY_FILE_ENV)
        make = partial(CodecKey, key_id=key_id, material=material, created=created)
        keys.append(_checked(make, KEY_FILE_ENV))
    return KeyRing(keys, source=str(path))


def write_key_file(path: Path, ring: KeyRing) -> None:
    """Store ``ring`` in ``path`` (mode 0600), replacing it whole or not at all.

    The new file is written beside the old one, created 0600 from the start (never readable
    by others, not even for a moment), flushed to disk and then renamed over it.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "format": KEY_FILE_FORMAT,
        "note": "careflow payload keys; the first encrypts. Keep secret; never commit.",
        "keys": [
            {
                "id": key.key_id,
                "key": base64.b64encode(key.material).decode("ascii"),
                "created": key.created.isoformat() if key.created else None,
            }
            for key in ring
        ],
    }
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as out:
            json.dump(document, out, indent=2)
            out.write("\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
        raise


def rotate_key_file(path: Path, *, now: datetime | None = None) -> CodecKey:
    """Make a new key active in the key file at ``path``, keeping every older one.

    Returns:
        The new active key.

    Raises:
        KeyConfigError: The file cannot be read (see :func:`read_key_file`).
    """
    ring = read_key_file(path)
    new = generate_key(now=now)
    while new.key_id in ring:  # three random bytes a day: a clash is rare, never fatal
        new = generate_key(now=now)
    write_key_file(path, ring.rotated(new))
    return new


def load_key_ring(settings: Settings) -> KeyRing:
    """The key ring of these settings: ``CAREFLOW_CODEC_KEYS`` if set, else the key file.

    Raises:
        KeyConfigError: No key anywhere, or a malformed one (the setting named).
    """
    if settings.codec_keys is not None:
        return parse_keys(settings.codec_keys.get_secret_value())
    return read_key_file(key_file_path(settings))
