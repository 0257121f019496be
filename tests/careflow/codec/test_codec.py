"""The AES-256-GCM payload codec: round trip, rotation, unknown keys, plain pass-through."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import BaseModel
from temporalio.api.common.v1 import Payload
from temporalio.api.failure.v1 import Failure
from temporalio.exceptions import ApplicationError

from careflow.codec import (
    ENCODING,
    KEY_ID_KEY,
    CodecError,
    EncryptionCodec,
    KeyRing,
    UnknownKeyError,
    codec_data_converter,
    generate_key,
    key_id_of,
    parse_keys,
    plain_data_converter,
    read_key_file,
    rotate_key_file,
    write_key_file,
)
from tests.conftest import TEST_CODEC_KEYS

HISTORIES = Path(__file__).resolve().parents[2] / "histories"
CANARY = "张晓明 13812345678"


class Visit(BaseModel):
    elder_name: str
    phone: str
    visits: int


def _ring(*ids: str) -> KeyRing:
    return KeyRing([generate_key() for _ in ids], source="test")


async def test_round_trip_gives_back_the_value_and_stores_only_ciphertext() -> None:
    converter = codec_data_converter(parse_keys(TEST_CODEC_KEYS))
    value = Visit(elder_name="张晓明", phone="13812345678", visits=3)
    [payload] = await converter.encode([value])
    assert payload.metadata["encoding"] == ENCODING
    assert payload.metadata[KEY_ID_KEY] == b"test-only-k2"
    assert set(payload.metadata) == {"encoding", KEY_ID_KEY}  # not even the type is readable
    for needle in ("张晓明".encode(), b"13812345678", b"elder_name", b"json/plain"):
        assert needle not in payload.data
    [back] = await converter.decode([payload], [Visit])
    assert back == value


async def test_each_encryption_has_its_own_nonce() -> None:
    codec = EncryptionCodec(parse_keys(TEST_CODEC_KEYS))
    plain = Payload(metadata={"encoding": b"json/plain"}, data=b'"same"')
    first, second = await codec.encode([plain, plain])
    assert first.data[:12] != second.data[:12] and first.data != second.data


async def test_rotation_old_key_still_decodes_old_payloads_new_payloads_use_new_key() -> None:
    old = parse_keys(TEST_CODEC_KEYS)
    [written_before] = await codec_data_converter(old).encode([{"n": 1}])
    assert key_id_of(written_before) == "test-only-k2"
    new_key = generate_key()
    rotated = codec_data_converter(old.rotated(new_key))
    [written_after] = await rotated.encode([{"n": 2}])
    assert key_id_of(written_after) == new_key.key_id
    assert await rotated.decode([written_before, written_after]) == [{"n": 1}, {"n": 2}]
    # The old ring cannot read what the new key wrote, and says which key it lacks.
    with pytest.raises(UnknownKeyError) as raised:
        await codec_data_converter(old).decode([written_after])
    assert raised.value.key_id == new_key.key_id


async def test_unknown_key_id_is_an_error_naming_the_id_not_a_crash() -> None:
    [payload] = await codec_data_converter(_ring("a")).encode(["hello"])
    stranger = codec_data_converter(parse_keys(TEST_CODEC_KEYS))
    with pytest.raises(UnknownKeyError) as raised:
        await stranger.decode([payload])
    key_id = key_id_of(payload)
    assert key_id is not None and key_id in str(raised.value)
    assert "test-only-k2" in str(raised.value)  # what the ring does hold, ids only
    assert "Y2FyZWZsb3cg" not in str(raised.value)  # never key material


async def test_altered_ciphertext_or_key_id_does_not_decrypt() -> None:
    ring = parse_keys(TEST_CODEC_KEYS)
    codec = EncryptionCodec(ring)
    [payload] = await codec.encode([Payload(metadata={"encoding": b"json/plain"}, data=b"1")])
    flipped = Payload()
    flipped.CopyFrom(payload)
    flipped.data = payload.data[:-1] + bytes([payload.data[-1] ^ 1])
    with pytest.raises(CodecError, match="test-only-k2"):
        await codec.decode([flipped])
    # The same ciphertext relabelled with the other key's id fails authentication too.
    relabelled = Payload()
    relabelled.CopyFrom(payload)
    relabelled.metadata[KEY_ID_KEY] = b"test-only-k1"
    with pytest.raises(CodecError, match="test-only-k1"):
        await codec.decode([relabelled])


async def test_plain_payloads_pass_through_decode() -> None:
    codec = EncryptionCodec(parse_keys(TEST_CODEC_KEYS))
    plain = await plain_data_converter().encode([{"ref": "P00001"}, None, "text"])
    assert await codec.decode(plain) == plain


def test_a_recorded_plain_history_payload_passes_through() -> None:
    history = json.loads((HISTORIES / "delivery_happy_path.json").read_text(encoding="utf-8"))
    started = history["events"][0]["workflowExecutionStartedEventAttributes"]
    raw = started["input"]["payloads"][0]
    import base64

    payload = Payload(
        metadata={k: base64.b64decode(v) for k, v in raw["metadata"].items()},
        data=base64.b64decode(raw["data"]),
    )
    assert EncryptionCodec(parse_keys(TEST_CODEC_KEYS)).decode_one(payload) is payload


async def test_failure_message_and_stack_trace_are_encoded() -> None:
    converter = codec_data_converter(parse_keys(TEST_CODEC_KEYS))
    try:
        raise ApplicationError(f"cannot reach {CANARY}", "detail of " + CANARY, type="Visit")
    except ApplicationError as err:
        failure = Failure()
        await converter.encode_failure(err, failure)
    wire = failure.SerializeToString()
    assert CANARY.encode() not in wire and "张晓明".encode() not in wire
    assert failure.message == "Encoded failure" and failure.stack_trace == ""
    assert key_id_of(failure.encoded_attributes) == "test-only-k2"
    back = await converter.decode_failure(failure)
    assert isinstance(back, ApplicationError)
    assert back.message == f"cannot reach {CANARY}" and back.details == ("detail of " + CANARY,)


def test_key_ring_needs_a_key_and_unique_ids() -> None:
    key = generate_key()
    with pytest.raises(CodecError, match="twice"):
        KeyRing([key, key], source="test")
    with pytest.raises(CodecError, match="no key"):
        KeyRing([], source="test")
    assert key.key_id in repr(KeyRing([key], source="x"))
    assert repr(key).count(key.material.hex()) == 0 and "material" not in repr(key)


def test_key_file_rotation_keeps_old_keys_and_mode_0600(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "codec-keys.json"
    first = generate_key()
    write_key_file(path, KeyRing([first], source=str(path)))
    assert path.stat().st_mode & 0o777 == 0o600
    new = rotate_key_file(path)
    ring = read_key_file(path)
    assert ring.ids == (new.key_id, first.key_id) and ring.active.key_id == new.key_id
    assert path.stat().st_mode & 0o777 == 0o600
    assert ring.get(first.key_id) == first  # material and created time kept
    assert list(path.parent.iterdir()) == [path]  # no temporary file left behind


async def test_a_file_backed_codec_picks_up_a_key_added_while_it_runs(tmp_path: Path) -> None:
    path = tmp_path / "codec-keys.json"
    write_key_file(path, KeyRing([generate_key()], source=str(path)))
    running = EncryptionCodec(read_key_file(path), reload=lambda: read_key_file(path))
    new = rotate_key_file(path)  # e.g. `careflow keys rotate` beside a running worker
    writer = EncryptionCodec(read_key_file(path))
    [payload] = await writer.encode([Payload(metadata={"encoding": b"json/plain"}, data=b"7")])
    assert key_id_of(payload) == new.key_id
    [back] = await running.decode([payload])
    assert back.data == b"7" and running.ring.active.key_id == new.key_id
