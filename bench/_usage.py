"""What limited a benchmark: CPU of this process (the worker), of the dev server, of the rest.

The benchmarks run a worker in their own process and a Temporal dev server as its child. Over
a measured span this module reads the worker's user+sys CPU (``resource.getrusage``), each
child process's (``/proc/<pid>/stat``), and the whole machine's (``/proc/stat``), so a
benchmark can say which of them was the limit: a worker near 100 % of one core is bound by
its own Python (one core: the GIL), a dev server near a core by the server, and a busy
machine by other load (figures are then noisy).
"""

from __future__ import annotations

import os
import resource
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Span", "current_rss_mib", "peak_rss_mib"]

_TICK = os.sysconf("SC_CLK_TCK")


def peak_rss_mib() -> float:
    """Peak resident memory of this process in MiB (``ru_maxrss`` is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mib() -> float:
    """Resident memory of this process now, in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _self_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _children_cpu() -> dict[int, float]:
    """CPU seconds of each live child process of this one (the dev server)."""
    me = os.getpid()
    found: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name is in parentheses and may hold spaces: split after it.
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[1]) == me:
            found[int(entry.name)] = (int(fields[11]) + int(fields[12])) / _TICK
    return found


def _machine_busy() -> float:
    """CPU seconds the whole machine spent busy (all cores), from ``/proc/stat``."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / _TICK


@dataclass
class Span:
    """CPU use over a span of wall time; :meth:`stop` ends it."""

    wall0: float = 0.0
    self0: float = 0.0
    children0: dict[int, float] | None = None
    machine0: float = 0.0
    wall: float = 0.0
    worker: float = 0.0
    server: float = 0.0
    others: float = 0.0

    @classmethod
    def start(cls) -> Span:
        """Begin measuring now."""
        return cls(
            wall0=time.perf_counter(),
            self0=_self_cpu(),
            children0=_children_cpu(),
            machine0=_machine_busy(),
        )

    def stop(self) -> Span:
        """End the span; the figures are CPU seconds over :attr:`wall` seconds."""
        self.wall = time.perf_counter() - self.wall0
        self.worker = _self_cpu() - self.self0
        before = self.children0 or {}
        self.server = sum(cpu - before.get(pid, 0.0) for pid, cpu in _children_cpu().items())
        machine = _machine_busy() - self.machine0
        self.others = max(0.0, machine - self.worker - self.server)
        return self

    def lines(self) -> list[str]:
        """The CPU figures and the verdict, as lines to print."""
        wall = max(self.wall, 1e-9)
        cores = os.cpu_count() or 1
        shares = {
            "the worker's one core (its Python: the GIL)": self.worker / wall,
            "the dev server": self.server / wall,
            f"other load on the machine ({cores} cores)": self.others / wall,
        }
        limit = max(shares, key=lambda k: shares[k])
        if self.worker / wall < 0.7 and self.server / wall < 0.7 and self.others / wall < 0.7:
            limit = "none of the CPUs (waiting: the database's writes or the server's round trips)"
        rows = (
            ("CPU of the worker", self.worker),
            ("CPU of the dev server", self.server),
            ("CPU of other processes", self.others),
        )
        return [
            f"  {name:<24}: {cpu:8.1f} s  = {cpu / wall:5.0%} of a core" for name, cpu in rows
        ] + [f"  limited by              : {limit}"]
