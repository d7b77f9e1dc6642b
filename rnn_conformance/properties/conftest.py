"""A safety net: the suite's hooks, for sessions the plugin did not recognise as the suite's.

The plugin registers the session's hooks (:mod:`rnn_conformance.running.hooks`) up front
when the session's arguments reach the properties (see
:func:`rnn_conformance.plugin.runs_the_properties`). Should pytest reach them some other
way, this conftest registers the hooks when it is loaded, so that the properties still get
their fixtures, gating and time limit.
"""

import pytest

from rnn_conformance.plugin import register_session_hooks


def pytest_configure(config: pytest.Config) -> None:
    """Register the suite's hooks if the plugin has not."""
    register_session_hooks(config)
