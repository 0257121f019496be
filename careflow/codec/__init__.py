"""Payload encryption: every payload careflow writes to Temporal is AES-256-GCM ciphertext.

* :mod:`careflow.codec.keys`: the key ring (one active key, older ones to decrypt), from
  ``CAREFLOW_CODEC_KEYS`` or the key file.
* :mod:`careflow.codec.aesgcm`: the payload codec.
* :mod:`careflow.codec.converter`: the data converter every client and worker uses.
* :mod:`careflow.codec.check`: whether open processes need a key this ring lacks (the worker
  refuses to start then).
"""

from __future__ import annotations

from careflow.codec.aesgcm import (
    ENCODING,
    KEY_ID_KEY,
    EncryptionCodec,
    is_encrypted,
    key_id_of,
)
from careflow.codec.converter import codec_data_converter, data_converter, plain_data_converter
from careflow.codec.errors import CodecError, KeyConfigError, UnknownKeyError
from careflow.codec.keys import (
    CodecKey,
    KeyRing,
    generate_key,
    key_file_path,
    load_key_ring,
    parse_keys,
    read_key_file,
    rotate_key_file,
    write_key_file,
)

__all__ = [
    "ENCODING",
    "KEY_ID_KEY",
    "CodecError",
    "CodecKey",
    "EncryptionCodec",
    "KeyConfigError",
    "KeyRing",
    "UnknownKeyError",
    "codec_data_converter",
    "data_converter",
    "generate_key",
    "is_encrypted",
    "key_file_path",
    "key_id_of",
    "load_key_ring",
    "parse_keys",
    "plain_data_converter",
    "read_key_file",
    "rotate_key_file",
    "write_key_file",
]
