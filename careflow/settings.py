"""The one settings object of careflow, read from ``CAREFLOW_*`` environment variables."""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from careflow.datadir import DATA_DIR_RULE, default_data_dir

__all__ = ["Settings", "check_host_port"]

# A DNS name: dot-separated labels of letters, digits and inner hyphens.
_HOSTNAME = re.compile(
    r"^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$"
)


def check_host_port(value: str) -> str:
    """Return ``value`` if it is ``host:port`` (a DNS name, IPv4 or ``[IPv6]``; port 1-65535).

    Raises:
        ValueError: Anything else, with an example of the expected form.
    """
    host, sep, port = value.rpartition(":")
    if not sep or not (port.isascii() and port.isdigit()) or not 1 <= int(port) <= 65535:
        raise ValueError(f"expected host:port, e.g. 127.0.0.1:7233, not {value!r}")
    if host.startswith("[") and host.endswith("]"):
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            raise ValueError(f"{host!r} is not an IPv6 address; expected host:port") from None
        return value
    if not _HOSTNAME.match(host):
        raise ValueError(f"{host!r} is not a host name or IP address; expected host:port")
    return value


class Settings(BaseSettings):
    """Runtime configuration.

    Build one with ``Settings()`` where a command starts; never at import time, so tests and
    tools can set the environment first.
    """

    model_config = SettingsConfigDict(env_prefix="CAREFLOW_", extra="ignore")

    data_dir: Path = Field(
        default_factory=default_data_dir,
        description="Local state (SQLite database, dev server); absolute once built. "
        + DATA_DIR_RULE,
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the app database; SQLite in data_dir when unset.",
    )
    temporal_address: str = Field(
        default="127.0.0.1:7233", description="Temporal frontend as host:port."
    )
    temporal_namespace: str = "default"
    temporal_tls: bool = Field(default=False, description="Use TLS (a cluster or Temporal Cloud).")
    temporal_tls_cert: Path | None = Field(default=None, description="mTLS client certificate.")
    temporal_tls_key: Path | None = Field(default=None, description="mTLS client private key.")
    temporal_api_key: SecretStr | None = Field(default=None, description="Temporal Cloud API key.")
    task_queue: str = "careflow"
    ui_port: int = 8233
    api_host: str = Field(default="127.0.0.1", description="Address the staff service binds.")
    api_port: int = Field(default=8000, ge=1, le=65535, description="Staff service port.")
    metrics_port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        description="Port a worker serves Prometheus metrics on (http://<host>:<port>/metrics: "
        "the Temporal SDK's and careflow's counters); unset = no metrics endpoint.",
    )
    otlp_endpoint: str | None = Field(
        default=None,
        description="OTLP/HTTP endpoint traces are exported to (e.g. http://collector:4318); "
        "unset = no tracing.",
    )
    max_cached_workflows: int = Field(
        default=500,
        ge=0,
        description="Workflows a worker keeps in its sticky cache (memory against replays).",
    )
    max_concurrent_activities: int = Field(
        default=64, ge=1, description="Activities a worker runs at once."
    )
    max_concurrent_workflow_tasks: int = Field(
        default=100, ge=1, description="Workflow tasks a worker runs at once."
    )
    deployment_name: str = Field(
        default="careflow",
        min_length=1,
        description="Temporal Worker Deployment the workers belong to (with a build id).",
    )
    build_id: str | None = Field(
        default=None,
        min_length=1,
        description="Build id of this worker's code (e.g. a release tag or git commit); set, "
        "the worker joins the deployment as that version (Worker Versioning); unset = an "
        "unversioned worker, as the dev stack and the tests run.",
    )
    cookie_secure: bool = Field(
        default=False,
        description="Mark console cookies Secure (on in production behind HTTPS; off for the "
        "dev stack on http://127.0.0.1).",
    )
    reply_within: float = Field(
        default=5.0,
        gt=0,
        le=60,
        description="Seconds a task completion waits for its process to record it before "
        "answering 'accepted, still being recorded'.",
    )
    plugin_config: Path | None = Field(
        default=None,
        description="TOML file with per-district parameter overrides for processes.",
    )
    plugins: str | None = Field(
        default=None,
        description="Comma-separated names of the only plugins to load (default: every "
        "installed one), e.g. engine,childcare,wanbailin.",
    )
    log_format: str = Field(default="auto", description="auto, json or console.")
    log_level: str = "INFO"
    codec_keys: SecretStr | None = Field(
        default=None,
        description="Payload encryption keys as id:base64key,id:base64key (32-byte AES-256 "
        "keys; the first encrypts, all decrypt). When unset, the key file is used.",
    )
    codec_key_file: Path | None = Field(
        default=None,
        description="Key file (mode 0600) used when codec_keys is unset; default "
        "<data_dir>/codec-keys.json (`careflow keys init`, or `careflow dev` on first run).",
    )
    ui_origin: str | None = Field(
        default=None,
        description="Origin of the Temporal Web UI, the only one the codec server answers "
        "cross-origin (CORS); default http://<host of temporal_address>:<ui_port>.",
    )
    pseudonym_key: SecretStr | None = Field(
        default=None,
        description="Secret (base64, 32+ bytes) that keys case refs into the pseudonyms of "
        "workflow ids and search attributes; never rotated. When unset, "
        "<data_dir>/pseudonym.key (`careflow dev` creates it on first run).",
    )
    mqtt_url: str = Field(
        default="mqtt://127.0.0.1:1883",
        description="MQTT broker of the device and partner ingress, "
        "mqtt://[user[:password]@]host[:port] (mqtts:// for TLS).",
    )
    mqtt_topic_root: str = Field(
        default="careflow",
        pattern=r"^[A-Za-z0-9_.-]{1,64}$",
        description="First level of the ingress topics <root>/<district>/<event type>.",
    )
    mqtt_client_id: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9_.-]{1,64}$",
        description="Stable MQTT client id (persistent session) of this ingress instance; "
        "each instance needs its own. Default careflow-ingress-<host name>.",
    )
    ingress_token: SecretStr | None = Field(
        default=None,
        description="API token the ingress delivers events as (`careflow staff token issue`). "
        "When unset, <data_dir>/ingress.token (`careflow dev` creates it on first run).",
    )

    @field_validator("temporal_address")
    @classmethod
    def _host_port(cls, value: str) -> str:
        # temporalio only fails at connect, with a traceback; refuse it with the rest.
        return check_host_port(value)

    @field_validator("mqtt_url")
    @classmethod
    def _mqtt_url(cls, value: str) -> str:
        # The value may hold a password: the error never repeats it.
        try:
            url = urlsplit(value)
            port = url.port
        except ValueError:
            raise ValueError("expected mqtt://host[:port] or mqtts://host[:port]") from None
        if url.scheme not in ("mqtt", "mqtts") or not url.hostname:
            raise ValueError("expected mqtt://host[:port] or mqtts://host[:port]")
        check_host_port(
            f"[{url.hostname}]:{port or 1}"
            if ":" in url.hostname
            else f"{url.hostname}:{port or 1}"
        )
        return value

    @field_validator("data_dir")
    @classmethod
    def _absolute_data_dir(cls, value: Path) -> Path:
        # Resolved once: a relative path would follow the folder each command runs from.
        return value.expanduser().resolve()

    @property
    def plugin_names(self) -> frozenset[str] | None:
        """The ``plugins`` allow-list as names, or None to load every installed plugin."""
        if self.plugins is None:
            return None
        return frozenset(name.strip() for name in self.plugins.split(",") if name.strip())

    @property
    def resolved_database_url(self) -> str:
        """The database URL, defaulting to SQLite under ``data_dir``."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'careflow.db').as_posix()}"
