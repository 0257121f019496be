"""The one settings object of careflow, read from ``CAREFLOW_*`` environment variables."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings"]


class Settings(BaseSettings):
    """Runtime configuration.

    Build one with ``Settings()`` where a command starts; never at import time, so tests and
    tools can set the environment first.
    """

    model_config = SettingsConfigDict(env_prefix="CAREFLOW_", extra="ignore")

    data_dir: Path = Field(default=Path(".careflow"), description="Local state of the dev stack.")
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the app database; SQLite in data_dir when unset.",
    )
    temporal_address: str = "127.0.0.1:7233"
    temporal_namespace: str = "default"
    temporal_tls: bool = Field(default=False, description="Use TLS (a cluster or Temporal Cloud).")
    temporal_tls_cert: Path | None = Field(default=None, description="mTLS client certificate.")
    temporal_tls_key: Path | None = Field(default=None, description="mTLS client private key.")
    temporal_api_key: SecretStr | None = Field(default=None, description="Temporal Cloud API key.")
    task_queue: str = "careflow"
    ui_port: int = 8233
    plugin_config: Path | None = Field(
        default=None,
        description="TOML file with per-district parameter overrides for processes.",
    )
    log_format: str = Field(default="auto", description="auto, json or console.")
    log_level: str = "INFO"

    @property
    def resolved_database_url(self) -> str:
        """The database URL, defaulting to SQLite under ``data_dir``."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'careflow.db').as_posix()}"
