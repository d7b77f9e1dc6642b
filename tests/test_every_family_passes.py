"""torch's own module and cell of every family pass every property (zero false alarms).

The README's test command collects the properties once, for the default family (nn.RNN),
with the profile of the run. Every other family is checked here, all of them in ONE pytest
session (``--rnn-family lstm,gru``: a comma list of every family but the default), as
``rnn-conformance --family all`` checks them: one subject per family, each property once
per subject. Locally it runs the ``default`` profile, with a fresh seed each run. Under CI
(``CI=true``) it runs the ``ci`` profile's settings (derandomised, no database) with 40
examples per property instead of 100, which keeps CI under 15 minutes with three
families; the nn.RNN properties keep the full ``ci`` profile, and
``rnn-conformance --family lstm --profile ci`` runs the full one too.
"""

import os
import xml.etree.ElementTree as ET
from collections import Counter

from rnn_conformance.constants import DEFAULT_FAMILY
from rnn_conformance.numerics.families import FAMILIES

OTHER_FAMILIES = [name for name in FAMILIES if name != DEFAULT_FAMILY]


CI_EXAMPLES = 40
CI_PROFILE = "ci-other-families"
# A conftest in the session's directory registers the reduced CI profile before
# Hypothesis loads it (--hypothesis-profile is read at configure time).
CI_CONFTEST = f"""
from hypothesis import settings
from rnn_conformance.running.profiles import PROFILES

settings.register_profile(
    {CI_PROFILE!r}, parent=PROFILES["ci"], max_examples={CI_EXAMPLES}
)
"""


def _under_ci():
    return os.environ.get("CI", "").lower() in ("1", "true")


def _verdicts(junit):
    """Each property's verdict, by node id: passed, failed, error or skipped."""
    verdicts = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        outcome = "passed"
        for child in case:
            if child.tag in ("failure", "error", "skipped"):
                outcome = {"failure": "failed"}.get(child.tag, child.tag)
        verdicts[f"{case.get('classname')}::{case.get('name')}"] = outcome
    return verdicts


def _subject(nodeid):
    """The subject's name a property ran on: ``lstm`` of ``test_x[lstm-cpu-...]``."""
    params = nodeid.partition("[")[2]
    return params.split("-", 1)[0] if params else ""


def test_torch_modules_of_every_other_family_pass_every_property_in_one_session(pytester):
    profile = "default"
    if _under_ci():
        pytester.makeconftest(CI_CONFTEST)
        profile = CI_PROFILE
    junit = pytester.path / "verdicts.xml"
    result = pytester.runpytest_subprocess(
        "--pyargs",
        "rnn_conformance.properties",
        "-p",
        "no:cacheprovider",
        f"--hypothesis-profile={profile}",
        f"--rnn-family={','.join(OTHER_FAMILIES)}",
        f"--junitxml={junit}",
        "-rs",
        # Its subjects spread over two workers, as rnn-conformance --family all does: this
        # one session is the longest self-test, and the other self-tests are shorter.
        "-n",
        "2",
    )
    outcomes = result.parseoutcomes()
    assert result.ret == 0, result.stdout.str()[-5000:]
    assert "failed" not in outcomes
    assert "errors" not in outcomes
    verdicts = _verdicts(junit)
    # Every property ran once per family, in this one session, and none failed.
    assert {verdict for verdict in verdicts.values()} <= {"passed", "skipped"}, verdicts
    passed = Counter(_subject(node) for node, verdict in verdicts.items() if verdict == "passed")
    for family in OTHER_FAMILIES:
        # The properties ran, not just collected, for each family.
        assert passed[family] >= 60, (family, passed)
    assert set(passed) == set(OTHER_FAMILIES), passed
    families = ", ".join(f"{name} ({FAMILIES[name].title})" for name in OTHER_FAMILIES)
    subjects = "; ".join(
        f"{name}-cpu: {FAMILIES[name].module_target} (cell {FAMILIES[name].cell_target})"
        for name in OTHER_FAMILIES
    )
    result.stdout.fnmatch_lines(
        [
            f"rnn-conformance: families: {families}",
            f"rnn-conformance: subjects: {subjects}",
            f"*Hypothesis profile: {profile} (*{CI_EXAMPLES if _under_ci() else 100} examples)*",
        ]
    )
