"""Transport security of the Temporal client, from settings."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.service import TLSConfig

from careflow.errors import InputError
from careflow.settings import Settings
from careflow.temporal import tls_config


def test_tls_is_off_for_the_embedded_stack() -> None:
    assert tls_config(Settings()) is False


def test_api_key_turns_tls_on() -> None:
    assert tls_config(Settings(temporal_api_key="k")) is True


def test_mtls_reads_both_files_and_refuses_half_a_pair(tmp_path: Path) -> None:
    cert, key = tmp_path / "c.pem", tmp_path / "k.pem"
    cert.write_bytes(b"CERT")
    key.write_bytes(b"KEY")
    config = tls_config(Settings(temporal_tls_cert=cert, temporal_tls_key=key))
    assert isinstance(config, TLSConfig)
    assert config.client_cert == b"CERT" and config.client_private_key == b"KEY"
    with pytest.raises(InputError, match="both the certificate and the key"):
        tls_config(Settings(temporal_tls_cert=cert))
