"""A fresh time-skipping server per test, as for the eldercare tests."""

from tests.plugins.eldercare.conftest import ts_env

__all__ = ["ts_env"]
