"""Fixtures shared by the properties: the suite and one run per selected device.

Kept in this package (not in the global plugin) so that a ``device`` fixture in a
user's own tests is never parametrised by this suite.
"""

from __future__ import annotations

import pytest

from rnn_conformance.harness import Suite
from rnn_conformance.plugin import devices_of, suite_of


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run every property that takes ``device`` once per selected device."""
    if "device" in metafunc.fixturenames:
        devices = devices_of(metafunc.config)
        metafunc.parametrize("device", devices, ids=devices)


@pytest.fixture(scope="session")
def suite(request: pytest.FixtureRequest) -> Suite:
    """The resolved target and TF32 policy of this run."""
    return suite_of(request.config)
