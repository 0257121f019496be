"""The dev stack starts the Web UI with the staff service's codec endpoint."""

from __future__ import annotations

from careflow.settings import Settings
from cli.devserver import DevServerConfig, codec_endpoint


def test_the_ui_is_started_with_the_codec_endpoint_of_the_staff_service() -> None:
    settings = Settings(temporal_address="127.0.0.1:17233", api_host="127.0.0.1", api_port=18000)
    command = DevServerConfig.from_settings(settings).command()
    at = command.index("--ui-codec-endpoint")
    assert command[at + 1] == "http://127.0.0.1:18000/codec"


def test_a_service_bound_everywhere_is_reached_on_the_temporal_host() -> None:
    everywhere = Settings(temporal_address="10.1.2.3:7233", api_host="0.0.0.0", api_port=8000)
    assert codec_endpoint(everywhere) == "http://10.1.2.3:8000/codec"
    ipv6 = Settings(temporal_address="[::1]:7233", api_host="::1", api_port=8000)
    assert codec_endpoint(ipv6) == "http://[::1]:8000/codec"
