"""The self-tests' own hooks: CI's split of the self-tests between its environments."""

from pathlib import Path

import pytest
from ci_share import leave_out_other_shares

from rnn_conformance.running.hooks.configure import MARKERS

HERE = Path(__file__).resolve().parent


def pytest_configure(config: pytest.Config) -> None:
    # Some self-tests import a property module to call its helpers, outside the properties'
    # sessions: its markers must be known there too.
    for line in MARKERS:
        config.addinivalue_line("markers", line)
    config.addinivalue_line(
        "markers", "ci_share(position): the CI environment that runs this self-test"
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # A conftest's collection hook sees every item of the session; only tests/ are ours.
    leave_out_other_shares([item for item in items if HERE in Path(item.path).resolve().parents])
