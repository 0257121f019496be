"""What can go wrong with payload encryption, each naming the key id or the setting at fault."""

from __future__ import annotations

from careflow.errors import CareflowError, InputError

__all__ = ["CodecError", "KeyConfigError", "UnknownKeyError"]


class CodecError(CareflowError):
    """A payload that cannot be encrypted or decrypted."""


class UnknownKeyError(CodecError):
    """A payload encrypted with a key this key ring does not hold.

    Args:
        key_id: The ``encryption-key-id`` the payload names.
        known: The ids the ring holds (ids only, never key material).
    """

    def __init__(self, key_id: str, known: tuple[str, ...]) -> None:
        have = ", ".join(known) or "none"
        super().__init__(
            f"缺少解密密钥 payload encrypted with key {key_id!r}, which this key ring does not "
            f"hold (it holds: {have}); add that key to CAREFLOW_CODEC_KEYS or the key file"
        )
        self.key_id = key_id
        self.known = known


class KeyConfigError(InputError, CodecError):
    """The key ring's configuration is missing or malformed; ``field`` names the setting."""
