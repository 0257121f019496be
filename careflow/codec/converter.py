"""The data converter every careflow client and worker uses: pydantic JSON, then encryption.

Payloads are made by ``pydantic_data_converter`` and then encrypted by
:class:`~careflow.codec.aesgcm.EncryptionCodec`; failures use
``DefaultFailureConverterWithEncodedAttributes``, which moves a failure's message and stack
trace into an encoded payload, so an error that quotes a name is encrypted too.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import PydanticPayloadConverter, pydantic_data_converter
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes

from careflow.codec.aesgcm import EncryptionCodec
from careflow.codec.keys import KeyRing, key_file_path, load_key_ring, read_key_file
from careflow.readable import READABLE_KEY, is_readable
from careflow.settings import Settings

__all__ = [
    "CareflowPayloadConverter",
    "codec_data_converter",
    "data_converter",
    "plain_data_converter",
]


class CareflowPayloadConverter(PydanticPayloadConverter):
    """Pydantic payloads; a :class:`~careflow.readable.Readable` text is marked to stay clear.

    The mark is metadata the codec reads (:data:`~careflow.readable.READABLE_KEY`); the
    payload is otherwise the ``json/plain`` one the Web UI shows as text.
    """

    def to_payloads(self, values: Sequence[Any]) -> list[Payload]:
        """Each value as pydantic makes it, readable texts marked."""
        payloads = super().to_payloads(values)
        for value, payload in zip(values, payloads, strict=True):
            if is_readable(value):
                payload.metadata[READABLE_KEY] = b"1"
        return payloads


def codec_data_converter(
    ring: KeyRing, *, reload: Callable[[], KeyRing] | None = None
) -> DataConverter:
    """Pydantic payloads encrypted with ``ring``, failure messages and stack traces too."""
    return dataclasses.replace(
        pydantic_data_converter,
        payload_converter_class=CareflowPayloadConverter,
        payload_codec=EncryptionCodec(ring, reload=reload),
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )


def data_converter(settings: Settings) -> DataConverter:
    """The converter of these settings' key ring (environment, else key file).

    A ring read from the key file is read again when a payload names a key it lacks, so a
    running worker or staff service follows ``careflow keys rotate``.

    Raises:
        KeyConfigError: No key, or a malformed one.
    """
    ring = load_key_ring(settings)
    reload = None
    if settings.codec_keys is None:
        path = key_file_path(settings)

        def reload() -> KeyRing:
            return read_key_file(path)

    return codec_data_converter(ring, reload=reload)


def plain_data_converter() -> DataConverter:
    """Pydantic payloads without encryption: for tests and benchmarks that compare the two,
    and for reading what Temporal stores as it is (ciphertext stays ciphertext)."""
    return pydantic_data_converter
