"""The dining tests' registry: the childcare module, small dining tables switched on in Yingze."""

from __future__ import annotations

import pytest

from careflow.registry import PluginRegistry
from plugins.childcare import plugin as childcare_plugin
from plugins.engine import plugin as engine_plugin
from tests.support.programmes import switched_on


@pytest.fixture
def cc_registry() -> PluginRegistry:
    """Engine and childcare, with the dining-table processes switched on in ``yingze``.

    ``yingze`` is the ``DISTRICT`` of every test module in this folder.
    """
    return PluginRegistry.build(
        [
            engine_plugin,
            childcare_plugin,
            switched_on(
                "yingze",
                "childcare.dining_round",
                "childcare.dining_inspection",
                "childcare.dining_enrolment",
            ),
        ]
    )
