"""Text written for people to read in the Temporal Web UI without the codec: summaries, details.

Every payload careflow writes is encrypted, and Temporal's SDK sends summaries and a
process's current details through the same codec as inputs. Those few texts are made from
codes, titles and case keys only (never personal data), and supervisors audit with them, so
they are marked :class:`Readable` and the codec leaves them in clear.

The marker is an attribute of the type, not the class's identity: workflow code runs in
Temporal's sandbox, which imports its own copy of this module, and the converter outside
still has to recognise the text.
"""

from __future__ import annotations

from typing import Any

from temporalio.api.sdk.v1 import WorkflowMetadata

__all__ = ["READABLE_KEY", "Readable", "is_readable"]

READABLE_KEY = "careflow-readable"
"""Payload metadata that tells the codec to leave a payload in clear."""


class Readable(str):
    """A summary or a detail line: codes, titles and case keys, never personal data."""

    __slots__ = ()
    __careflow_readable__ = True


def is_readable(value: Any) -> bool:
    """Whether ``value`` is a :class:`Readable` text or a process's metadata (its details).

    The metadata answer of the Web UI's ``__temporal_workflow_metadata`` query carries the
    query names and the current details only.
    """
    return getattr(type(value), "__careflow_readable__", False) is True or isinstance(
        value, WorkflowMetadata
    )
