"""torch's own module and cell of every family pass every property (zero false alarms).

The README's test command collects the properties once, for the default family (nn.RNN).
A pytest session checks one family (the properties read it when imported), so every other
family gets a session of its own here, with the outer run's Hypothesis profile: ``ci``
under CI (derandomised), else ``default`` with a fresh seed each run.
"""

import os

import pytest

from rnn_conformance.families import DEFAULT_FAMILY, FAMILIES
from rnn_conformance.session_hooks import PROFILES

OTHER_FAMILIES = [name for name in FAMILIES if name != DEFAULT_FAMILY]


def _profile():
    return "ci" if os.environ.get("CI", "").lower() in ("1", "true") else "default"


@pytest.mark.parametrize("family", OTHER_FAMILIES)
def test_torch_modules_of_the_family_pass_every_property(pytester, family):
    assert _profile() in PROFILES
    result = pytester.runpytest_subprocess(
        "--pyargs",
        "rnn_conformance.properties",
        "-p",
        "no:cacheprovider",
        f"--hypothesis-profile={_profile()}",
        f"--rnn-family={family}",
        "-rs",
    )
    outcomes = result.parseoutcomes()
    assert result.ret == 0, result.stdout.str()[-5000:]
    assert "failed" not in outcomes
    assert outcomes.get("passed", 0) >= 60, outcomes  # the properties ran, not just collected
    result.stdout.fnmatch_lines([f"*family: {family} ({FAMILIES[family].title})*"])
