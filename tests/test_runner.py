"""The rnn-conformance command end to end: matrix, exit code, reports, reproducers."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _run(tmp_path, *args, env_extra=None):
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent), **(env_extra or {})}
    return subprocess.run(
        [sys.executable, "-m", "rnn_conformance", "--report-dir", str(tmp_path), *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=600,
    )


def test_default_run_checks_nn_rnn_and_writes_reports(tmp_path):
    result = _run(tmp_path, "--profile", "dev", "--", "-k", "shapes or reference or gradients")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "rnn-conformance matrix" in result.stdout
    assert "| test_output_and_h_n_shapes | pass |" in result.stdout
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["target"] == "torch.nn:RNN"
    assert report["profile"] == "dev"
    assert report["versions"]["torch"].startswith("2.")
    assert report["summary"]["failed"] == 0
    assert report["summary"]["passed"] >= 3
    assert {r["device"] for r in report["results"]} <= {"cpu", "all devices"}
    assert "## Conformance matrix" in (tmp_path / "report.md").read_text()


def test_broken_example_fails_with_a_reproducer_that_reproduces(tmp_path):
    result = _run(
        tmp_path,
        "--impl",
        "examples.pure_torch_rnn:ForwardOnlyReverseRNN",
        "--profile",
        "ci",
        "--",
        "-k",
        "test_output_and_h_n_match_reference",
    )
    assert result.returncode == 1, result.stdout[-3000:]
    assert "| test_output_and_h_n_match_reference | **FAIL** |" in result.stdout
    report = json.loads((tmp_path / "report.json").read_text())
    (failure,) = [r["failure"] for r in report["results"] if r["failure"]]
    assert "differs from the float64 reference" in failure["message"]
    # The tutorial's bidirectional case is pinned with @example, so it fails first.
    assert "Falsifying explicit example" in failure["falsifying_example"]
    assert "weight_ih_l0_reverse" in failure["falsifying_example"]
    markdown = (tmp_path / "report.md").read_text()
    assert "## Failures" in markdown
    assert "Reproduce: `" in markdown
    rerun = subprocess.run(
        failure["reproduce"], shell=True, capture_output=True, text=True, cwd=ROOT, timeout=600
    )
    assert rerun.returncode == 1, rerun.stdout[-2000:]
    assert "differs from the float64 reference" in rerun.stdout


def test_generated_failure_carries_a_reproduce_failure_blob(tmp_path):
    result = _run(
        tmp_path,
        "--impl",
        "broken_rnns:TruncatedBPTTRNN",
        "--profile",
        "ci",
        "--",
        "-k",
        "test_gradients_match_reference_bptt",
    )
    assert result.returncode == 1, result.stdout[-3000:]
    report = json.loads((tmp_path / "report.json").read_text())
    (failure,) = [r["failure"] for r in report["results"] if r["failure"]]
    assert failure["falsifying_example"].startswith("Falsifying example")
    assert failure["blob"].startswith("@reproduce_failure(")


def test_declared_gaps_appear_as_skips_with_the_capability(tmp_path):
    result = _run(
        tmp_path, "--profile", "dev", "--unsupported", "autograd", "--", "-k", "gradients"
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert "skipped (lacks autograd)" in result.stdout
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["unsupported"] == ["autograd"]
    assert all(r["outcome"] == "skipped" for r in report["results"])


def test_hanging_target_fails_its_property_and_the_run_goes_on(tmp_path):
    result = _run(
        tmp_path,
        "--impl",
        "broken_rnns:HangingRNN",
        "--profile",
        "dev",
        "--timeout",
        "2",
        "--",
        "-k",
        "test_output_and_h_n_shapes or test_constructor_arguments",
    )
    assert result.returncode == 1, result.stdout[-3000:]
    assert "ran longer than --rnn-timeout=2 s" in result.stdout
    assert "| test_constructor_arguments_are_exposed_as_attributes | pass |" in result.stdout


def test_bad_target_is_reported_clearly(tmp_path):
    result = _run(tmp_path, "--impl", "no_such_pkg:RNN")
    assert result.returncode == pytest.ExitCode.USAGE_ERROR
    assert "cannot import module 'no_such_pkg'" in result.stderr
    assert "Traceback" not in result.stderr
