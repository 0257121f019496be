"""Keyed pseudonyms of case references: what workflow ids, search attributes and summaries hold.

A case reference is often a registry id (``P00012``) or built from one (``P00012.20261201``,
``F2026.P00012``). The payload codec encrypts what a process carries, but workflow ids, the
``CareCaseRef`` search attribute, summaries, current details and log lines stay readable, so
they carry the **case key** instead::

    case_key("P00012") == "k" + 16 base32 characters of HMAC-SHA256(key, "careflow.case:P00012")

Every case ref is keyed the same way, a registry id or not (random ``C…`` refs, schedule-made
refs): one rule, nothing to guess. The key (the HMAC secret) is separate from the codec's keys
and is **never rotated**: an event names its case by the case ref, and the service finds the
process by ``case_key(case_ref)``, so a new key would lose every running process. It comes
from, in this order:

1. ``CAREFLOW_PSEUDONYM_KEY`` (base64 of at least 32 bytes), for deployments whose secrets
   arrive as environment variables; every client and worker of a deployment sets the same;
2. else ``<data_dir>/pseudonym.key`` (mode 0600), written by ``careflow dev`` on its first run
   (:func:`ensure_pseudonym_key`); a source checkout's own ``.careflow/`` gets one the first
   time it is needed, as the dev stack would make it.

Nothing else creates a key: a production client or worker without one refuses with
:class:`PseudonymKeyError`, rather than make a key of its own that no other host shares.

Workflows never hold the key. The service keys a case when it starts a process or routes an
event; a process started from a workflow gets its key from an activity (the plan-resolution
activity, or the activity that listed the cases, such as the curtain round's watch list).
Key material never reaches a log line, a ``repr`` or an error message.

Importing this module does no I/O: only the functions that load a key read the environment
or the file.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import secrets
import stat
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from careflow.datadir import DATA_DIR_NAME, source_checkout
from careflow.errors import InputError
from careflow.models import process_workflow_id
from careflow.settings import Settings

__all__ = [
    "CASE_KEY_LENGTH",
    "CASE_KEY_RE",
    "KEY_BYTES",
    "PSEUDONYM_KEY_ENV",
    "PSEUDONYM_KEY_FILE",
    "PseudonymKeyError",
    "Pseudonyms",
    "case_key",
    "case_workflow_id",
    "case_workflow_ids",
    "default_pseudonyms",
    "ensure_dev_pseudonym_key",
    "ensure_pseudonym_key",
    "is_case_key",
    "key_file_path",
    "load_pseudonyms",
]

PSEUDONYM_KEY_ENV = "CAREFLOW_PSEUDONYM_KEY"
PSEUDONYM_KEY_FILE = "pseudonym.key"
KEY_BYTES = 32
"""The least key material accepted (HMAC-SHA256: 32 bytes is its block-strength key)."""
CASE_KEY_LENGTH = 17
"""``k`` and 16 base32 characters: 80 bits, short enough to read out and type."""
CASE_KEY_RE = re.compile(r"^k[a-z2-7]{16}$")
"""What a case key looks like (lowercase base32 after the ``k``)."""

# Domain separation: the same secret could one day key something other than case refs.
_CONTEXT = b"careflow.case:"


class PseudonymKeyError(InputError):
    """No usable pseudonym key: missing, malformed or readable by others.

    An ``InputError`` on the field ``pseudonym_key``, so the CLI exits 2 naming it.
    """

    def __init__(self, problem: str) -> None:
        super().__init__("pseudonym_key", problem)


def is_case_key(value: str) -> bool:
    """Whether ``value`` has the shape of a case key (``k`` + 16 lowercase base32)."""
    return bool(CASE_KEY_RE.match(value))


@dataclass(frozen=True, slots=True)
class Pseudonyms:
    """Keys case refs under one secret.

    Attributes:
        source: Where the secret came from (an environment variable or a file), for messages.
    """

    _secret: bytes = field(repr=False)
    source: str = "?"

    def __post_init__(self) -> None:
        if len(self._secret) < KEY_BYTES:
            raise PseudonymKeyError(
                f"the pseudonym key from {self.source} is {len(self._secret)} bytes; at least "
                f"{KEY_BYTES} are needed · 化名密钥过短"
            )

    def case_key(self, case_ref: str) -> str:
        """The case key of ``case_ref``: the same for the same ref, always."""
        digest = hmac.new(self._secret, _CONTEXT + case_ref.encode("utf-8"), hashlib.sha256)
        return "k" + base64.b32encode(digest.digest()).decode("ascii")[:16].lower()

    def case_workflow_id(self, process: str, district: str, case_ref: str) -> str:
        """The workflow id of a process of ``case_ref`` started since case keys."""
        return process_workflow_id(process, district, self.case_key(case_ref))

    def case_workflow_ids(self, process: str, district: str, case_ref: str) -> list[str]:
        """Where a process of ``case_ref`` runs: its keyed id, then the id it had before.

        A process started before case keys existed kept its id (``<process>-<district>-
        <case ref>``): callers that look a process up try the keyed id first, then that one.
        """
        return [
            self.case_workflow_id(process, district, case_ref),
            process_workflow_id(process, district, case_ref),
        ]


def key_file_path(settings: Settings) -> Path:
    """``<data_dir>/pseudonym.key``."""
    return settings.data_dir / PSEUDONYM_KEY_FILE


def _decode(text: str, *, source: str) -> bytes:
    try:
        return base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise PseudonymKeyError(
            f"the pseudonym key from {source} is not base64 · 化名密钥格式无效"
        ) from None


def _read_key_file(path: Path) -> Pseudonyms:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise PseudonymKeyError(
            f"{path} is readable by others (mode {mode:04o}); run `chmod 600 {path}` "
            "· 化名密钥文件权限过宽"
        )
    return Pseudonyms(_decode(path.read_text(encoding="ascii"), source=str(path)), source=str(path))


def ensure_pseudonym_key(data_dir: Path) -> Path:
    """Create ``<data_dir>/pseudonym.key`` (mode 0600, 32 random bytes) unless it exists.

    What the dev stack calls on every start: the first run makes the key, later runs keep
    it. The file is created 0600 from the start and never replaced.

    Returns:
        The key file's path.
    """
    path = data_dir / PSEUDONYM_KEY_FILE
    if path.exists():
        return path
    data_dir.mkdir(parents=True, exist_ok=True)
    text = base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode("ascii") + "\n"
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path  # another process made it a moment ago: theirs is the key
    with os.fdopen(descriptor, "w", encoding="ascii") as out:
        out.write(text)
        out.flush()
        os.fsync(out.fileno())
    return path


def ensure_dev_pseudonym_key(settings: Settings) -> Path | None:
    """What ``careflow dev`` calls on start: the data dir's key file, made on the first run.

    Returns:
        The key file, or None when ``CAREFLOW_PSEUDONYM_KEY`` is set (that key is used; no
        file is made).
    """
    if settings.pseudonym_key is not None:
        return None
    return ensure_pseudonym_key(settings.data_dir)


def _is_checkout_data_dir(data_dir: Path) -> bool:
    root = source_checkout()
    return root is not None and data_dir == (root.resolve() / DATA_DIR_NAME)


def load_pseudonyms(settings: Settings) -> Pseudonyms:
    """The pseudonym key of this deployment (see the module docstring for the order).

    Raises:
        PseudonymKeyError: No key configured, or one that is malformed, too short or readable
            by others. The message says how to provide one; it never holds key material.
    """
    if settings.pseudonym_key is not None:
        secret = settings.pseudonym_key.get_secret_value()
        return Pseudonyms(_decode(secret, source=PSEUDONYM_KEY_ENV), source=PSEUDONYM_KEY_ENV)
    path = key_file_path(settings)
    if not path.exists() and _is_checkout_data_dir(settings.data_dir):
        ensure_pseudonym_key(settings.data_dir)  # a development checkout, as `careflow dev` does
    if not path.exists():
        raise PseudonymKeyError(
            f"no pseudonym key: set {PSEUDONYM_KEY_ENV} (base64 of {KEY_BYTES} random bytes, the "
            f"same for every client and worker) or put it in {path} (mode 0600); `careflow dev` "
            "creates one on its first run · 未配置化名密钥"
        )
    return _read_key_file(path)


def _environment() -> tuple[object, ...]:
    """Everything ``Settings()`` reads to find the key: careflow's variables (their names are
    case-insensitive), and the folder and home directory the default data dir comes from."""
    environ = os.environ
    careflow = sorted((k, v) for k, v in environ.items() if k.upper().startswith("CAREFLOW_"))
    return (tuple(careflow), os.getcwd(), environ.get("HOME"), environ.get("XDG_DATA_HOME"))


@lru_cache(maxsize=8)
def _pseudonyms_for(environment: tuple[object, ...]) -> Pseudonyms:
    # Settings() reads every field from the environment (about 1.5 ms) and a service keys a
    # case on every start and event: build it once per environment. A refused load raises,
    # which is not cached, so a key configured afterwards is found on the next call.
    del environment
    return load_pseudonyms(Settings())


def default_pseudonyms() -> Pseudonyms:
    """The pseudonyms of the settings this process runs with (``Settings()``), cached while
    the environment they come from stays the same.

    Raises:
        PseudonymKeyError: See :func:`load_pseudonyms`.
    """
    return _pseudonyms_for(_environment())


def case_key(case_ref: str) -> str:
    """``default_pseudonyms().case_key(case_ref)``; never call it from workflow code."""
    return default_pseudonyms().case_key(case_ref)


def case_workflow_id(process: str, district: str, case_ref: str) -> str:
    """``default_pseudonyms().case_workflow_id(...)``: ``<process>-<district>-<case key>``."""
    return default_pseudonyms().case_workflow_id(process, district, case_ref)


def case_workflow_ids(process: str, district: str, case_ref: str) -> list[str]:
    """``default_pseudonyms().case_workflow_ids(...)``: the keyed id, then the id before keys."""
    return default_pseudonyms().case_workflow_ids(process, district, case_ref)
