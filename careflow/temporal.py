"""Making Temporal clients: the one place the data converter is set."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from careflow.settings import Settings

__all__ = ["connect"]


async def connect(settings: Settings) -> Client:
    """Connect to the Temporal frontend named by the settings, with pydantic payloads."""
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=pydantic_data_converter,
    )
