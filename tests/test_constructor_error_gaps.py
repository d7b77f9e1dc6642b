"""The constructor-error property honours declared gaps: a missing capability skips, naming it.

``NoProjectionLSTM`` (``tests/broken_lstms.py``) refuses every ``proj_size`` but 0 with
``NotImplementedError`` and declares ``projection`` unsupported. Its ``proj_size`` cases
must skip with the capability named, and every other bad argument must still be checked.
"""

import os
from pathlib import Path


def _run(pytester, monkeypatch, *args):
    monkeypatch.setenv(
        "PYTHONPATH",
        os.pathsep.join(filter(None, [str(Path(__file__).parent), os.environ.get("PYTHONPATH")])),
    )
    return pytester.runpytest_subprocess(
        "--pyargs",
        "rnn_conformance.properties",
        "-p",
        "no:cacheprovider",
        "--hypothesis-profile=ci",
        "--rnn-family",
        "lstm",
        "-k",
        "test_bad_constructor_arguments_raise_like_nn_rnn",
        "-rs",
        *args,
    )


def test_a_declared_projection_gap_skips_the_proj_size_cases_only(pytester, monkeypatch):
    result = _run(pytester, monkeypatch, "--rnn-impl", "broken_lstms:NoProjectionLSTM")
    result.stdout.fnmatch_lines(
        ["*SKIPPED [[]2[]]*target declares unsupported capability: projection*"]
    )
    outcomes = result.parseoutcomes()
    assert outcomes.get("skipped") == 2, result.stdout.str()[-3000:]
    assert "failed" not in outcomes, result.stdout.str()[-3000:]
    assert outcomes.get("passed", 0) >= 8  # the other bad arguments still ran


def test_the_same_gap_declared_by_option_skips_torch_lstm_proj_size_cases(pytester, monkeypatch):
    result = _run(pytester, monkeypatch, "--rnn-unsupported", "projection")
    outcomes = result.parseoutcomes()
    assert outcomes.get("skipped") == 2, result.stdout.str()[-3000:]
    assert "failed" not in outcomes, result.stdout.str()[-3000:]
