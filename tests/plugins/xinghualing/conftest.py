"""Each test gets a fresh time-skipping server, as the eldercare tests do."""

from tests.plugins.eldercare.conftest import ts_env

__all__ = ["ts_env"]
