"""Assembling and running a careflow worker from the discovered plugins."""

from worker.interceptors import LogContextInterceptor
from worker.main import build_worker, run_worker

__all__ = ["LogContextInterceptor", "build_worker", "run_worker"]
