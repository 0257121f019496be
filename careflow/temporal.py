"""Making Temporal clients: the one place the data converter and transport security are set.

Every client careflow makes (CLI, staff service, worker) uses
:func:`careflow.codec.data_converter`: pydantic payloads, encrypted with the key ring of the
settings, failure messages and stack traces encoded too. When the process traces
(:func:`careflow.tracing.configure`), every client also carries the tracing plugin, and the
workers made from it use its interceptors.
"""

from __future__ import annotations

from temporalio.client import Client
from temporalio.runtime import Runtime
from temporalio.service import TLSConfig

from careflow.codec import data_converter
from careflow.errors import InputError
from careflow.settings import Settings
from careflow.tracing import temporal_plugins

__all__ = ["connect", "tls_config"]


def tls_config(settings: Settings) -> bool | TLSConfig:
    """TLS for the connection: mTLS with a client certificate, plain TLS, or none.

    Raises:
        InputError: Only one of the certificate and key is set, or a file cannot be read.
    """
    cert, key = settings.temporal_tls_cert, settings.temporal_tls_key
    if (cert is None) != (key is None):
        raise InputError(
            "CAREFLOW_TEMPORAL_TLS_CERT", "mTLS needs both the certificate and the key"
        )
    if cert is not None and key is not None:
        try:
            return TLSConfig(client_cert=cert.read_bytes(), client_private_key=key.read_bytes())
        except OSError as err:
            raise InputError("CAREFLOW_TEMPORAL_TLS_CERT", f"cannot read: {err}") from err
    return settings.temporal_tls or settings.temporal_api_key is not None


async def connect(
    settings: Settings, *, lazy: bool = False, runtime: Runtime | None = None
) -> Client:
    """Connect to the Temporal frontend named by the settings, with encrypted pydantic payloads.

    Args:
        settings: Where Temporal is and how to reach it.
        lazy: Connect on the first call instead of now, and again on each call until one
            succeeds (the staff service starts, and serves what needs no Temporal, while
            Temporal is down).
        runtime: The SDK runtime the client and its workers run on; the worker's serves
            Prometheus metrics (:func:`careflow.metrics.runtime_for`). The SDK's default
            runtime when None.

    Raises:
        KeyConfigError: No codec key is configured, or a key is malformed (before any
            connection is tried, so nothing is ever written unencrypted).
    """
    api_key = settings.temporal_api_key
    converter = data_converter(settings)
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=converter,
        tls=tls_config(settings),
        api_key=api_key.get_secret_value() if api_key else None,
        lazy=lazy,
        runtime=runtime,
        plugins=temporal_plugins(),
    )
