"""The suite's constants, each defined once; this module imports nothing of the suite.

The pytest plugin, the runner (before pytest starts, without torch) and the session hooks
all read these, so nothing heavy may be imported here.

>>> DEFAULT_FAMILY, ALL_FAMILIES, PROFILE_NAMES
('rnn', 'all', ('dev', 'default', 'ci', 'thorough'))
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

__all__ = [
    "ACROSS_DEVICES",
    "ALL_FAMILIES",
    "DEFAULT_FAMILY",
    "DEFAULT_TRANSFORM",
    "INTERRUPTED",
    "PREFLIGHT_FAILED",
    "PROFILE_NAMES",
    "PROPERTIES_DIR",
    "USAGE_ERROR",
    "default_profile",
    "on_ci",
]

PROPERTIES_DIR = Path(__file__).resolve().parent / "properties"
"""Where the suite's properties live: the hooks act on the tests below it only."""

ACROSS_DEVICES = "across devices"
"""The device part of the subject of a property that compares the selected devices."""

DEFAULT_FAMILY = "rnn"
"""The ``--rnn-family`` default: nn.RNN's family."""

ALL_FAMILIES = "all"
"""The ``--rnn-family`` value that selects every registered family."""

DEFAULT_TRANSFORM = "eager"
"""The transform of a subject checked as it is (the only one so far)."""

PROFILE_NAMES = ("dev", "default", "ci", "thorough")
"""The suite's Hypothesis profiles: 10, 100, 100 derandomized and 1000 examples."""

USAGE_ERROR = 4
"""pytest.ExitCode.USAGE_ERROR, also the runner's for its own checks."""

INTERRUPTED = 2
"""pytest.ExitCode.INTERRUPTED: Ctrl-C or SIGTERM."""

PREFLIGHT_FAILED = 6
"""The exit code of a run the preflight stopped (no target could be built)."""


def on_ci(environ: Mapping[str, str] | None = None) -> bool:
    """Whether ``$CI`` says this is a CI run (``1`` or ``true``)."""
    environ = os.environ if environ is None else environ
    return environ.get("CI", "").lower() in ("1", "true")


def default_profile(environ: Mapping[str, str] | None = None) -> str:
    """The profile a run loads when none is named: ``ci`` on CI, else ``default``."""
    return "ci" if on_ci(environ) else "default"
