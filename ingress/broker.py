"""The MQTT broker: where it is (``CAREFLOW_MQTT_URL``), whether it answers, a client for it.

The client speaks MQTT 5 with a persistent session under a stable client id (the session,
with its subscription and the messages not yet acknowledged, outlives a restart), a receive
maximum equal to the ingress's bound on messages in flight (the broker sends no more than
that unacknowledged), and manual acknowledgement: paho acknowledges on receipt by default,
the ingress only once a message is settled.
"""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import aiomqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

__all__ = ["BrokerAddress", "broker_address", "broker_answers", "mqtt_client"]


@dataclass(frozen=True, slots=True)
class BrokerAddress:
    """Host, port, TLS and credentials of a broker URL."""

    host: str
    port: int
    tls: bool
    username: str | None = None
    password: str | None = None

    @property
    def display(self) -> str:
        """The URL without credentials, for logs and banners."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'mqtts' if self.tls else 'mqtt'}://{host}:{self.port}"


def broker_address(url: str) -> BrokerAddress:
    """Parse ``mqtt://[user[:password]@]host[:port]`` (``mqtts://`` for TLS, port 8883).

    Raises:
        ValueError: Not such a URL (the settings check it first).
    """
    parsed = urlsplit(url)
    if parsed.scheme not in ("mqtt", "mqtts") or not parsed.hostname:
        raise ValueError("expected mqtt://host[:port] or mqtts://host[:port]")
    tls = parsed.scheme == "mqtts"
    return BrokerAddress(
        host=parsed.hostname,
        port=parsed.port or (8883 if tls else 1883),
        tls=tls,
        username=unquote(parsed.username) if parsed.username else None,
        password=unquote(parsed.password) if parsed.password else None,
    )


async def broker_answers(url: str, *, timeout: float = 1.0) -> str | None:
    """None when something listens at the broker's address, else why not (one line)."""
    address = broker_address(url)
    try:
        _, writer = await asyncio.wait_for(
            asyncio.open_connection(address.host, address.port), timeout=timeout
        )
    except TimeoutError:
        return f"no answer from {address.display} within {timeout:g}s"
    except OSError as err:
        return f"nothing listens at {address.display} ({err.strerror or type(err).__name__})"
    writer.close()
    try:
        await writer.wait_closed()
    except OSError:
        pass
    return None


def mqtt_client(
    url: str,
    *,
    client_id: str,
    receive_maximum: int,
    session_expiry: int,
    keepalive: int = 30,
) -> aiomqtt.Client:
    """An MQTT 5 client with a persistent session and manual acknowledgement.

    Args:
        url: The broker.
        client_id: Stable per instance: the session (subscription, unacknowledged messages)
            is found again under it after a restart.
        receive_maximum: Messages the broker may send before one is acknowledged.
        session_expiry: Seconds the broker keeps the session after a disconnect.
        keepalive: Seconds between pings.
    """
    address = broker_address(url)
    properties = Properties(PacketTypes.CONNECT)
    properties.SessionExpiryInterval = session_expiry
    properties.ReceiveMaximum = receive_maximum
    client = aiomqtt.Client(
        address.host,
        address.port,
        username=address.username,
        password=address.password,
        identifier=client_id,
        protocol=aiomqtt.ProtocolVersion.V5,
        clean_start=False,
        keepalive=keepalive,
        properties=properties,
        tls_context=ssl.create_default_context() if address.tls else None,
    )
    # aiomqtt has no manual-ack switch of its own; paho's must be set before connecting.
    client._client.manual_ack_set(True)
    return client
