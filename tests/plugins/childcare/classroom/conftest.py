"""The classroom tests' registry: the childcare module, the classroom switched on in Wanbailin."""

from __future__ import annotations

import pytest

from careflow.registry import PluginRegistry
from plugins.childcare import plugin as childcare_plugin
from plugins.engine import plugin as engine_plugin
from tests.support.programmes import switched_on


@pytest.fixture
def cc_registry() -> PluginRegistry:
    """Engine and childcare, with the classroom processes switched on in ``wanbailin``.

    ``wanbailin`` is the ``DISTRICT`` of every test module in this folder.
    """
    return PluginRegistry.build(
        [
            engine_plugin,
            childcare_plugin,
            switched_on(
                "wanbailin",
                "childcare.classroom",
                "childcare.classroom_day",
                "childcare.classroom_enrolment",
            ),
        ]
    )
