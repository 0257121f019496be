"""The payload codec: AES-256-GCM over the whole serialized payload, the key id beside it.

An encrypted payload looks like this to Temporal and to anyone reading its history::

    metadata: {"encoding": "binary/encrypted", "encryption-key-id": "<key id>"}
    data:     nonce (12 random bytes) + AES-GCM ciphertext and tag of the original Payload

The original payload's metadata (its encoding, the pydantic type) is inside the ciphertext,
so nothing of the value, not even its shape, is readable. The key id is authenticated as
associated data: a payload whose key id was changed does not decrypt.

Decoding passes through every payload that is not ``binary/encrypted``: the histories
recorded before encryption still replay, and a payload that was never encrypted (a search
attribute, the test server's own) is left as it is.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from google.protobuf.message import DecodeError
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

from careflow.codec.errors import CodecError, UnknownKeyError
from careflow.codec.keys import KeyRing
from careflow.readable import READABLE_KEY

__all__ = [
    "ENCODING",
    "ENCODING_KEY",
    "KEY_ID_KEY",
    "NONCE_BYTES",
    "EncryptionCodec",
    "is_encrypted",
    "key_id_of",
]

ENCODING_KEY = "encoding"
ENCODING = b"binary/encrypted"
KEY_ID_KEY = "encryption-key-id"
NONCE_BYTES = 12
RELOAD_AT_MOST_EVERY = 5.0
"""Seconds between two reloads of a file-backed ring that met an unknown key id."""


def is_encrypted(payload: Payload) -> bool:
    """Whether ``payload`` is one this codec encrypted."""
    return payload.metadata.get(ENCODING_KEY) == ENCODING


def key_id_of(payload: Payload) -> str | None:
    """The key id an encrypted payload names; None for a payload that is not encrypted."""
    if not is_encrypted(payload):
        return None
    return payload.metadata.get(KEY_ID_KEY, b"").decode("utf-8", errors="replace")


class EncryptionCodec(PayloadCodec):
    """Encrypts with the ring's active key; decrypts with whichever key a payload names.

    Args:
        ring: The keys.
        reload: How to read the ring again (a key file); called when a payload names a key
            the ring does not hold, at most every few seconds, so a process that runs while
            ``careflow keys rotate`` adds a key picks it up instead of failing. None for a ring
            that cannot change (``CAREFLOW_CODEC_KEYS``).
    """

    def __init__(self, ring: KeyRing, *, reload: Callable[[], KeyRing] | None = None) -> None:
        self._reload = reload
        self._reloaded_at = 0.0
        self._use(ring)

    def _use(self, ring: KeyRing) -> None:
        self._ring = ring
        self._ciphers = {key.key_id: AESGCM(key.material) for key in ring}
        self._active = ring.active.key_id
        self._active_id = self._active.encode("utf-8")

    @property
    def ring(self) -> KeyRing:
        """The keys in use."""
        return self._ring

    def encode_one(self, payload: Payload) -> Payload:
        """``payload`` encrypted under the active key; a readable summary left as it is."""
        if payload.metadata.get(READABLE_KEY) == b"1":
            return payload
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._ciphers[self._active].encrypt(
            nonce, payload.SerializeToString(), self._active_id
        )
        return Payload(
            metadata={ENCODING_KEY: ENCODING, KEY_ID_KEY: self._active_id}, data=nonce + sealed
        )

    def _cipher(self, key_id: str) -> AESGCM:
        cipher = self._ciphers.get(key_id)
        if cipher is None and self._reload is not None:
            if time.monotonic() - self._reloaded_at >= RELOAD_AT_MOST_EVERY:
                self._reloaded_at = time.monotonic()
                self._use(self._reload())
                cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise UnknownKeyError(key_id, self._ring.ids)
        return cipher

    def decode_one(self, payload: Payload) -> Payload:
        """``payload`` decrypted; a payload that is not encrypted comes back as it is.

        Raises:
            UnknownKeyError: It names a key id the ring does not hold.
            CodecError: It does not authenticate under the key it names (altered, or the
                key material under that id is not the one it was written with).
        """
        key_id = key_id_of(payload)
        if key_id is None:
            return payload
        cipher = self._cipher(key_id)
        data = payload.data
        if len(data) <= NONCE_BYTES:
            raise CodecError(f"encrypted payload under key {key_id!r} is too short to hold data")
        try:
            plain = cipher.decrypt(data[:NONCE_BYTES], data[NONCE_BYTES:], key_id.encode("utf-8"))
        except InvalidTag:
            raise CodecError(
                f"解密失败 payload does not authenticate under key {key_id!r}: it was altered, "
                "or that key id holds other key material than it was written with"
            ) from None
        original = Payload()
        try:
            original.ParseFromString(plain)
        except DecodeError:
            raise CodecError(f"payload under key {key_id!r} decrypts to no Payload") from None
        return original

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        """Every payload encrypted under the active key."""
        return [self.encode_one(p) for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        """Every payload decrypted; those that are not encrypted pass through."""
        return [self.decode_one(p) for p in payloads]
