"""The run survives what a target does to its process (rnn_conformance/running/run_guards.py).

Crashes (a real SIGSEGV, os._exit), flush-to-zero, constructors without
device=/dtype=, and the preflight. The targets are in tests/crashing_targets.py: each is
torch's module except for one kind of call, so exactly the properties that reach that call
fail, with the signal and the call in the console and in both reports, and every other
property passes. SIGTERM's partial report is tested with Ctrl-C's in tests/test_runner.py.
"""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TESTS = Path(__file__).resolve().parent


def _env():
    return {**os.environ, "PYTHONPATH": str(TESTS)}


def _runner(tmp_path, impl, keyword, *extra):
    return subprocess.run(
        [
            *(sys.executable, "-m", "rnn_conformance", "--report-dir", str(tmp_path)),
            *("--impl", f"crashing_targets:{impl}", "--profile", "ci", *extra),
            *("--", "-k", keyword),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=_env(),
        timeout=600,
    )


def _pytest(impl, keyword, *extra):
    return subprocess.run(
        [
            *(sys.executable, "-m", "pytest", "--pyargs", "rnn_conformance.properties"),
            *("-p", "no:cacheprovider", "--hypothesis-profile=ci", *extra),
            *("--rnn-impl", f"crashing_targets:{impl}", "-k", keyword),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=_env(),
        timeout=600,
    )


def _verdicts(tmp_path):
    report = json.loads((tmp_path / "report.json").read_text())
    return report, {r["nodeid"].split("::")[1]: r for r in report["results"]}


def _assert_crash_reported(result, tmp_path, crashed, passed, call_fragment, signal_text):
    output = result.stdout + result.stderr
    assert result.returncode == 1, output[-4000:]
    assert "INTERNALERROR" not in output
    report, verdicts = _verdicts(tmp_path)
    failed = {node for node, r in verdicts.items() if r["outcome"] == "failed"}
    assert failed == crashed, output[-4000:]
    for node in passed:
        assert verdicts[node]["outcome"] == "passed", verdicts[node]
    markdown = (tmp_path / "report.md").read_text()
    for node in crashed:
        failure = verdicts[node]["failure"]
        assert signal_text in failure["message"]
        assert call_fragment in failure["message"]
        assert verdicts[node]["device"] == "cpu"  # not "across devices"
        assert verdicts[node]["subject"] == "rnn-cpu"
        assert "-n 1" in failure["reproduce"]  # a lone pytest would die with it
    # Console and report.md: the signal and the call, and xdist's own line kept.
    assert signal_text in result.stdout
    assert call_fragment in result.stdout
    assert signal_text in markdown
    assert call_fragment in markdown
    assert "crashed while running" in markdown
    assert "on rnn-across devices" not in markdown
    assert "error in ???" not in markdown
    return report


def test_a_segfault_on_a_malformed_hx_fails_only_the_properties_that_make_that_call(tmp_path):
    crashed = {"test_invalid_calls_raise_like_nn_rnn[rnn-cpu-hx with wrong batch size]"}
    passed = {
        "test_invalid_calls_raise_like_nn_rnn[rnn-cpu-float64 hx in a float32 module]",
        "test_missing_hx_equals_zeros[rnn-cpu]",
        "test_output_and_h_n_shapes[rnn-cpu]",
    }
    result = _runner(
        tmp_path,
        "SegfaultOnMalformedHxRNN",
        "(wrong and batch and not unbatched) or (float64 and hx) or missing_hx "
        "or test_output_and_h_n_shapes",
    )
    _assert_crash_reported(
        result, tmp_path, crashed, passed, "SegfaultOnMalformedHxRNN(", "SIGSEGV (11)"
    )


def test_a_segfault_on_an_empty_batch_fails_only_the_properties_that_reach_one(tmp_path):
    # The pinned empty-batch case and the shape property (whose draws include N = 0)
    # reach the crashing call; the other pinned cases do not.
    crashed = {
        "test_known_cases_match_reference[rnn-cpu-empty_batch]",
        "test_output_and_h_n_shapes[rnn-cpu]",
    }
    passed = {
        "test_known_cases_match_reference[rnn-cpu-one_step]",
        "test_known_cases_match_reference[rnn-cpu-long_sequence_96_steps]",
    }
    result = _runner(
        tmp_path,
        "SegfaultOnEmptyBatchRNN",
        "empty_batch or one_step or long_sequence or test_output_and_h_n_shapes",
    )
    report = _assert_crash_reported(
        result, tmp_path, crashed, passed, "SegfaultOnEmptyBatchRNN(", "SIGSEGV (11)"
    )
    # The flight record gives the shapes of the call in progress: a batch of zero.
    (pinned,) = [
        r["failure"] for r in report["results"] if r["nodeid"].endswith("[rnn-cpu-empty_batch]")
    ]
    assert ", 0, " in pinned["message"]


def test_pytest_with_workers_reports_a_crash_as_a_failure_and_goes_on():
    # pytest -n 1 without the runner; the target ends its process with os._exit(3).
    keyword = "float64_3_layers_unbatched or one_step"
    result = _pytest("ExitsOnUnbatchedInputRNN", keyword, "-n", "1")
    assert result.returncode == 1, result.stdout[-3000:]
    assert "1 failed, 1 passed" in result.stdout
    failed = [line for line in result.stdout.splitlines() if line.startswith("FAILED")]
    assert len(failed) == 1, failed
    assert "float64_3_layers_unbatched" in failed[0]
    assert "exited with status 3" in result.stdout
    assert "ExitsOnUnbatchedInputRNN(" in result.stdout


def test_a_lone_pytest_process_prints_the_flight_record_when_it_dies():
    result = _pytest("SegfaultOnMalformedHxRNN", "wrong and batch and not unbatched")
    assert result.returncode == -signal.SIGSEGV
    assert "Fatal Python error: Segmentation fault" in result.stderr  # faulthandler
    assert "the pytest process died while running" in result.stderr
    assert "hx with wrong batch size" in result.stderr
    assert "SegfaultOnMalformedHxRNN(" in result.stderr
    assert "pytest -n 1" in result.stderr


def test_a_target_that_turns_on_flush_to_zero_fails_and_the_run_is_not_poisoned(tmp_path):
    result = _runner(
        tmp_path, "FlushesDenormalsRNN", "test_output_and_h_n_shapes or one_step or empty_batch"
    )
    assert result.returncode == 1, result.stdout[-3000:]
    _, verdicts = _verdicts(tmp_path)
    assert {r["outcome"] for r in verdicts.values()} == {"failed"}
    for verdict in verdicts.values():
        message = verdict["failure"]["message"]
        assert message.startswith("the target turned on flush-to-zero for the whole process")
        assert "FlushesDenormalsRNN.forward(" in message
    # Each failure is the guard's, not Hypothesis' float strategies failing afterwards.
    assert "assert 0.0 > 0" not in result.stdout


def test_a_target_without_device_and_dtype_is_built_then_moved(tmp_path):
    result = _runner(
        tmp_path,
        "NoDeviceOrDtypeRNN",
        "test_output_and_h_n_shapes or one_step or float64_3_layers or test_parameters_have",
    )
    assert result.returncode == 0, result.stdout[-3000:]
    report, verdicts = _verdicts(tmp_path)
    assert len(verdicts) == 4
    built = "built on the default device and dtype, then moved with .to(device, dtype)"
    assert report["facts"]["construction"].startswith(built)
    assert f"construction: {built}" in result.stdout
    assert built in (tmp_path / "report.md").read_text()


def test_the_preflight_stops_a_target_that_cannot_be_built_with_one_error(tmp_path):
    result = subprocess.run(
        [
            *(sys.executable, "-m", "rnn_conformance", "--report-dir", str(tmp_path / "out")),
            *("--impl", "broken_rnns:RejectsEveryConstructionRNN", "--profile", "ci"),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=_env(),
        timeout=600,
    )
    assert result.returncode == 6, result.stdout[-3000:] + result.stderr[-3000:]
    output = result.stdout + result.stderr
    assert output.count("raised ValueError: this configuration is not supported") == 1
    assert "broken_rnns:RejectsEveryConstructionRNN(**{'input_size': 3" in output
    assert "preflight" in output
    assert "failed" not in result.stdout
    assert len(output.splitlines()) < 40
    assert not (tmp_path / "out").exists()
