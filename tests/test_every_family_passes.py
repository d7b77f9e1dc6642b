"""torch's own module and cell of every family pass every property (zero false alarms).

The README's test command collects the properties once, for the default family (nn.RNN).
A pytest session checks one family (the properties read it when imported), so every other
family gets a session of its own here. Locally it runs the ``default`` profile, with a
fresh seed each run. Under CI (``CI=true``) it runs the ``ci`` profile's settings
(derandomised, no database) with 40 examples per property instead of 100, which keeps
CI under 15 minutes with three families; the nn.RNN properties keep the full ``ci``
profile, and ``rnn-conformance --family lstm --profile ci`` runs the full one too.
"""

import os

import pytest

from rnn_conformance.families import DEFAULT_FAMILY, FAMILIES

OTHER_FAMILIES = [name for name in FAMILIES if name != DEFAULT_FAMILY]


CI_EXAMPLES = 40
CI_PROFILE = "ci-other-families"
# A conftest in the session's directory registers the reduced CI profile before
# Hypothesis loads it (--hypothesis-profile is read at configure time).
CI_CONFTEST = f"""
from hypothesis import settings
from rnn_conformance.session_hooks import PROFILES

settings.register_profile(
    {CI_PROFILE!r}, parent=PROFILES["ci"], max_examples={CI_EXAMPLES}
)
"""


def _under_ci():
    return os.environ.get("CI", "").lower() in ("1", "true")


@pytest.mark.parametrize("family", OTHER_FAMILIES)
def test_torch_modules_of_the_family_pass_every_property(pytester, family):
    profile = "default"
    if _under_ci():
        pytester.makeconftest(CI_CONFTEST)
        profile = CI_PROFILE
    result = pytester.runpytest_subprocess(
        "--pyargs",
        "rnn_conformance.properties",
        "-p",
        "no:cacheprovider",
        f"--hypothesis-profile={profile}",
        f"--rnn-family={family}",
        "-rs",
    )
    outcomes = result.parseoutcomes()
    assert result.ret == 0, result.stdout.str()[-5000:]
    assert "failed" not in outcomes
    assert outcomes.get("passed", 0) >= 60, outcomes  # the properties ran, not just collected
    result.stdout.fnmatch_lines(
        [
            f"*family: {family} ({FAMILIES[family].title})*",
            f"*Hypothesis profile: {profile} (*{CI_EXAMPLES if _under_ci() else 100} examples)*",
        ]
    )
