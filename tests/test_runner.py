"""The rnn-conformance command end to end: matrix, exit code, reports, reproducers."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
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
    assert "| property | rnn-cpu |" in result.stdout
    assert "| test_output_and_h_n_shapes | pass |" in result.stdout
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["target"] == "torch.nn:RNN"
    assert report["families"] == ["rnn"]
    assert report["subjects"] == [
        {
            "id": "rnn-cpu",
            "family": "rnn",
            "device": "cpu",
            "transform": "eager",
            "target": "torch.nn:RNN",
            "cell_target": "torch.nn:RNNCell",
            "unsupported": [],
            "cell_unsupported": [],
            "activation_error": 0.0,
            "cell_activation_error": 0.0,
        }
    ]
    assert report["profile"] == "dev"
    assert report["versions"]["torch"].startswith("2.")
    assert report["summary"]["failed"] == 0
    assert report["summary"]["passed"] >= 3
    assert {r["device"] for r in report["results"]} <= {"cpu", "across devices"}
    assert {r["subject"] for r in report["results"]} <= {"rnn-cpu", "rnn-across devices"}
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
    # The minimal example is the suite's own record of the final replay, whatever
    # Hypothesis prints: the property's call with the shrunk case.
    example = failure["minimal_example"]
    assert example.startswith(
        "test_output_and_h_n_match_reference(\n    subject=Subject('rnn-cpu', "
        "'examples.pure_torch_rnn:ForwardOnlyReverseRNN', cell='torch.nn:RNNCell', "
    )
    assert "bidirectional=True" in example
    assert "num_layers=1" in example  # shrunk: not one of the pinned multi-layer cases
    assert "weight_ih_l0_reverse=" in example
    markdown = (tmp_path / "report.md").read_text()
    assert "## Failures" in markdown
    assert "Minimal example:" in markdown
    assert "Reproduce: `" in markdown
    # Pasted into a new shell: another directory, no PYTHONPATH; the command brings both.
    assert failure["reproduce"].startswith(f"cd {ROOT} && env PYTHONPATH=")
    assert failure["reproduce"].endswith("::test_output_and_h_n_match_reference[rnn-cpu]'")
    fresh = {name: os.environ[name] for name in ("PATH", "HOME") if name in os.environ}
    rerun = subprocess.run(
        failure["reproduce"],
        shell=True,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=fresh,
        timeout=600,
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
    example = failure["minimal_example"]
    assert example.startswith("test_gradients_match_reference_bptt(")
    # Values drawn inside the property are part of the example too.
    assert "drawn grad_output: array(" in example
    assert "drawn grad_h_n: array(" in example
    assert failure["blob"].startswith("@reproduce_failure(")


def _module(tmp_path, name, source):
    package = tmp_path / "targets"
    package.mkdir(exist_ok=True)
    (package / f"{name}.py").write_text(textwrap.dedent(source))
    return {"PYTHONPATH": os.pathsep.join([str(package), str(Path(__file__).parent)])}


RAISING = """
    import torch
    from torch import nn


    class RaisingRNN(nn.RNN):
        def forward(self, input, hx=None):
            return self.kernel(input)

        def kernel(self, input):
            raise RuntimeError("fused kernel not implemented for this shape")


    class NaNRNN(nn.RNN):
        def forward(self, input, hx=None):
            output, h_n = super().forward(input, hx)
            return output * float("nan"), h_n
"""


def test_a_raising_target_is_reported_at_its_own_line(tmp_path):
    env = _module(tmp_path, "raising_rnn", RAISING)
    result = _run(
        tmp_path / "out",
        "--impl",
        "raising_rnn:RaisingRNN",
        "--profile",
        "dev",
        "--",
        "-k",
        "test_output_and_h_n_match_reference",
        env_extra=env,
    )
    assert result.returncode == 1, result.stdout[-3000:]
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    (failure,) = [r["failure"] for r in report["results"] if r["failure"]]
    assert failure["raised_at"].endswith("raising_rnn.py:11 in kernel")
    assert "fused kernel not implemented" in failure["message"]
    markdown = (tmp_path / "out" / "report.md").read_text()
    assert "raising_rnn.py:11 in kernel`" in markdown
    assert "target.py" not in markdown
    # Hypothesis' own notes point into the suite and help no implementer.
    assert "Explanation:" not in markdown
    assert "Highest target score" not in markdown


@pytest.mark.parametrize("name", ["TruncatedBPTTRNN", "NaNRNN"])
def test_gradcheck_failures_are_reported_as_findings(tmp_path, name):
    env = _module(tmp_path, "raising_rnn", RAISING)
    module = "broken_rnns" if name == "TruncatedBPTTRNN" else "raising_rnn"
    result = _run(
        tmp_path / "out",
        "--impl",
        f"{module}:{name}",
        "--profile",
        "dev",
        "--",
        "-k",
        "gradcheck",
        env_extra=env,
    )
    assert result.returncode == 1, result.stdout[-3000:]
    assert "torch.autograd.gradcheck failed" in result.stdout
    assert "AttributeError" not in result.stdout
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    (failure,) = [r["failure"] for r in report["results"] if r["failure"]]
    assert failure["message"].startswith("torch.autograd.gradcheck failed")
    assert "torch.autograd.gradcheck failed" in (tmp_path / "out" / "report.md").read_text()


def test_declared_gaps_appear_as_skips_with_the_capability(tmp_path):
    result = _run(
        tmp_path, "--profile", "dev", "--unsupported", "autograd", "--", "-k", "gradients"
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert "skipped (lacks autograd)" in result.stdout
    report = json.loads((tmp_path / "report.json").read_text())
    (subject,) = report["subjects"]
    assert subject["unsupported"] == ["autograd"]
    assert subject["cell_unsupported"] == []  # --unsupported is the module target's alone
    assert all(r["outcome"] == "skipped" for r in report["results"])
    markdown = (tmp_path / "report.md").read_text()
    # Full skip reasons, untruncated, in the report.
    assert "target declares unsupported capability: autograd (gradients of output" in markdown


def test_reports_state_what_the_console_header_states(tmp_path):
    result = _run(
        tmp_path,
        "--profile",
        "dev",
        "--unsupported",
        "packed_sequences",
        "--activation-error",
        "3",
        "--",
        "-k",
        "shapes or packed or devices_agree",
    )
    assert result.returncode == 0, result.stdout[-3000:]
    header = dict(
        line.removeprefix("rnn-conformance: ").split(": ", 1)
        for line in result.stdout.splitlines()
        if line.startswith("rnn-conformance: ")
    )
    assert header["families"] == "rnn (nn.RNN)"
    assert header["subjects"] == "rnn-cpu: torch.nn:RNN (cell torch.nn:RNNCell)"
    assert header["xfails file"] == "none"
    assert header["unsupported capabilities"].startswith("packed_sequences")
    assert header["declared activation error"].startswith("3 u")
    assert header["devices"] == "cpu"
    report = json.loads((tmp_path / "report.json").read_text())
    markdown = (tmp_path / "report.md").read_text()
    for name, text in header.items():
        if name != "Hypothesis profile":  # the header counts examples, the report the seed
            assert report["facts"][name] == text
            assert f"- {name}: {text}" in markdown
    assert report["families"] == ["rnn"]
    (subject,) = report["subjects"]
    assert subject["id"] == "rnn-cpu"
    assert subject["unsupported"] == ["packed_sequences"]
    assert subject["activation_error"] == 3.0
    assert subject["cell_activation_error"] == 0.0
    assert report["devices"] == ["cpu"]
    assert report["wall_time_s"] > 0
    # One device: the cross-device property's verdict stands in the subject's column.
    matrix = markdown.split("## Conformance matrix")[1].split("##")[0].strip().splitlines()
    assert matrix[0] == "| property | rnn-cpu |"
    assert any(line.startswith("| test_all_selected_devices_agree | skipped") for line in matrix)
    assert "PytestAssertRewriteWarning" not in result.stdout + result.stderr


def test_known_failures_are_their_own_verdict_and_a_passing_one_fails(tmp_path):
    xfails = tmp_path / "xfails.txt"
    xfails.write_text(
        "# known failures of HiddenStateBatchFirstRNN\n"
        "test_output_and_h_n_shapes  # issue 12: batch_first applied to h_n\n"
        "test_constructor_arguments_are_exposed  # believed broken, but passes\n"
        "test_no_such_property  # stale\n"
    )
    result = _run(
        tmp_path / "out",
        "--impl",
        "broken_rnns:HiddenStateBatchFirstRNN",
        "--xfails",
        str(xfails),
        "--profile",
        "dev",
        "--",
        "-k",
        "test_output_and_h_n_shapes or test_constructor_arguments_are_exposed",
    )
    assert result.returncode == 1, result.stdout[-3000:]
    assert "| test_output_and_h_n_shapes | xfail (issue 12: batch_first applied to h_n) |" in (
        result.stdout
    )
    assert (
        "| test_constructor_arguments_are_exposed_as_attributes "
        "| **FAIL** (XPASS: known failure passed) |"
    ) in result.stdout
    assert "known failures (xfailed):" in result.stdout
    assert "1 passed" not in result.stdout
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["summary"] == {"passed": 0, "failed": 1, "xfailed": 1, "skipped": 0}
    assert report["facts"]["xfails file"] == f"{xfails} (3 known failures)"
    by_property = {r["property"]: r for r in report["results"]}
    known = by_property["test_output_and_h_n_shapes"]
    assert known["outcome"] == "xfailed"
    assert known["reason"] == "issue 12: batch_first applied to h_n"
    assert known["known_failure"] == [
        {
            "where": f"{xfails}:2",
            "entry": "test_output_and_h_n_shapes",
            "reason": "issue 12: batch_first applied to h_n",
        }
    ]
    assert "returned h_n with shape" in known["observed"]
    assert known["failure"] is None
    fixed = by_property["test_constructor_arguments_are_exposed_as_attributes"]
    assert fixed["outcome"] == "failed"
    assert fixed["failure"]["message"].startswith(
        "XPASS (strict): the known failure no longer fails: believed broken, but passes "
        f"(known failure: {xfails}:3 'test_constructor_arguments_are_exposed')"
    )
    assert report["warnings"] == [
        f"xfails file {xfails}:4: 'test_no_such_property' matches no collected property"
    ]
    markdown = (tmp_path / "out" / "report.md").read_text()
    assert f"- xfails file: {xfails} (3 known failures)" in markdown
    assert "## Known failures (xfailed)" in markdown
    assert (
        "- test_output_and_h_n_shapes on rnn-cpu: issue 12: batch_first applied to h_n "
        f"(listed in {xfails}:2 'test_output_and_h_n_shapes'); fails with: "
    ) in markdown
    assert "## Warnings" in markdown
    assert "the known failure no longer fails" in markdown.split("## Failures")[1]


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
        "test_output_and_h_n_shapes or test_constructor_arguments or gradcheck",
    )
    assert result.returncode == 1, result.stdout[-3000:]
    # The message names the option as typed to the runner.
    assert "ran longer than --timeout=2 s" in result.stdout
    assert "| test_constructor_arguments_are_exposed_as_attributes | pass |" in result.stdout
    assert "| test_gradcheck_passes_in_float64 | **FAIL** |" in result.stdout
    report = json.loads((tmp_path / "report.json").read_text())
    failures = [r["failure"] for r in report["results"] if r["failure"]]
    assert len(failures) == 2
    assert all(f["raised_at"].endswith("in forward") for f in failures)


def _ctrl_c(process):
    os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C sends to the foreground group


def _sigterm(process):
    # As `timeout 900 rnn-conformance ...` sends it: to the runner's process only.
    process.send_signal(signal.SIGTERM)


@pytest.mark.parametrize("stop", [_ctrl_c, _sigterm], ids=["ctrl-c", "sigterm"])
def test_ctrl_c_or_sigterm_stops_the_run_and_writes_a_partial_report(tmp_path, stop):
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent)}
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "rnn_conformance", "--report-dir", str(tmp_path)),
            *("--impl", "broken_rnns:HangingRNN", "--profile", "dev", "--timeout", "0"),
            *("--", "-k", "gradcheck"),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        time.sleep(10)  # well into the hanging gradcheck property, in the worker
        stop(process)
        output, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == pytest.ExitCode.INTERRUPTED, output[-3000:]
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["interrupted"] is True
    assert "**Interrupted**" in (tmp_path / "report.md").read_text()
    assert "INTERRUPTED" in output


def test_bad_target_is_a_usage_error_that_writes_no_report(tmp_path):
    result = _run(tmp_path / "out", "--impl", "no_such_pkg:RNN")
    assert result.returncode == pytest.ExitCode.USAGE_ERROR
    assert "--impl: cannot import module 'no_such_pkg'" in result.stderr
    assert "--rnn-impl" not in result.stderr
    assert result.stderr.count("cannot import module") == 1
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--device", "tpu"], "--device: unknown device 'tpu'"),
        (["--unsupported", "teleport"], "--unsupported: unknown capability 'teleport'"),
        (["--timeout", "-1"], "--timeout: must be >= 0 seconds"),
        (["--activation-error", "x"], "--activation-error: invalid float value: 'x'"),
        (["--profile", "quick"], "--profile: invalid choice: 'quick'"),
        (
            ["--family", "xlstm"],
            "--family: unknown recurrent family 'xlstm'; known: rnn, lstm, gru (or all)",
        ),
        (
            ["--family", "lstm,xlstm"],
            "--family: unknown recurrent family 'xlstm'; known: rnn, lstm, gru (or all)",
        ),
        (
            ["--impl", "torch.nn:RNNCell"],
            "--impl torch.nn:RNNCell is torch.nn:RNNCell, nn.RNN's cell, not its module "
            "(torch.nn:RNN); give it with --cell-impl",
        ),
        (["--xfails", "no-such-xfails.txt"], "--xfails: cannot read 'no-such-xfails.txt'"),
    ],
)
def test_usage_errors_name_the_runner_option(tmp_path, arguments, message):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "report.json").write_text("{}")
    result = _run(tmp_path / "out", *arguments)
    assert result.returncode == pytest.ExitCode.USAGE_ERROR
    assert message in result.stderr
    assert (tmp_path / "out" / "report.json").read_text() == "{}"  # not overwritten


def test_help_lists_capabilities_and_defaults():
    result = subprocess.run(
        [sys.executable, "-m", "rnn_conformance", "--help"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    for expected in (
        "--activation-error UNITS",
        "(default: $RNN_CONFORMANCE_IMPL, else the family's torch module, torch.nn:RNN for rnn)",
        "--family FAMILY",
        "(default: $RNN_CONFORMANCE_FAMILY, else rnn)",
        "recurrent families (--family): rnn nn.RNN: --impl torch.nn:RNN, "
        "--cell-impl torch.nn:RNNCell (default)",
        "lstm nn.LSTM: --impl torch.nn:LSTM, --cell-impl torch.nn:LSTMCell",
        "gru nn.GRU: --impl torch.nn:GRU, --cell-impl torch.nn:GRUCell",
        "all every family above, one session (a comma list selects several)",
        "--family FAMILY recurrent families to check, a comma list or all",
        "--xfails FILE",
        "(default: $RNN_CONFORMANCE_XFAILS, else none)",
        "(default: $RNN_CONFORMANCE_DEVICE, else cpu)",
        "(default: 600)",
        "without_bias bias=False",
        "packed_sequences torch.nn.utils.rnn.PackedSequence input",
    ):
        assert expected in text, expected


def test_family_all_is_one_session_with_one_matrix_and_one_report(tmp_path):
    from rnn_conformance.numerics.families import FAMILIES

    result = _run(
        tmp_path, "--family", "all", "--profile", "dev", "--seed", "7", "--", "-k", "shapes"
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    # One pytest session, one matrix with a column per subject.
    assert result.stdout.count("test session starts") == 1
    assert result.stdout.count("rnn-conformance matrix") == 1
    assert "rnn-conformance: families: rnn (nn.RNN), lstm (nn.LSTM), gru (nn.GRU)" in (
        result.stdout
    )
    assert "| property | rnn-cpu | lstm-cpu | gru-cpu |" in result.stdout
    assert "| test_output_and_h_n_shapes | pass | pass | pass |" in result.stdout
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["seed"] == 7
    assert report["exit_code"] == 0
    assert report["families"] == list(FAMILIES)
    assert [s["id"] for s in report["subjects"]] == ["rnn-cpu", "lstm-cpu", "gru-cpu"]
    for subject, family in zip(report["subjects"], FAMILIES.values(), strict=True):
        assert subject["family"] == family.name
        assert subject["device"] == "cpu"
        assert (subject["target"], subject["cell_target"]) == (
            family.module_target,
            family.cell_target,
        )
    assert report["target"] == "torch.nn:RNN, torch.nn:LSTM, torch.nn:GRU"
    assert report["summary"]["failed"] == 0
    assert {r["subject"] for r in report["results"]} == {"rnn-cpu", "lstm-cpu", "gru-cpu"}
    shapes = [r for r in report["results"] if r["property"] == "test_output_and_h_n_shapes"]
    assert sorted(r["subject"] for r in shapes) == ["gru-cpu", "lstm-cpu", "rnn-cpu"]
    assert {r["outcome"] for r in shapes} == {"passed"}
    # No report per family: one directory, one report.
    assert sorted(path.name for path in tmp_path.iterdir()) == ["report.json", "report.md"]
    markdown = (tmp_path / "report.md").read_text()
    assert markdown.count("## Conformance matrix") == 1
    assert "| property | rnn-cpu | lstm-cpu | gru-cpu |" in markdown
    assert "# RNN conformance report: torch.nn:RNN, torch.nn:LSTM, torch.nn:GRU" in markdown


def test_family_comma_list_checks_exactly_those_families(tmp_path):
    result = _run(tmp_path, "--family", "lstm,gru", "--profile", "dev", "--", "-k", "shapes")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "| property | lstm-cpu | gru-cpu |" in result.stdout
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["families"] == ["lstm", "gru"]
    assert [s["id"] for s in report["subjects"]] == ["lstm-cpu", "gru-cpu"]
    assert {r["subject"] for r in report["results"]} == {"lstm-cpu", "gru-cpu"}


def test_family_all_with_an_impl_is_a_usage_error_naming_the_options(tmp_path):
    result = _run(tmp_path, "--family", "all", "--impl", "broken_rnns:LenientHxRNN")
    assert result.returncode == pytest.ExitCode.USAGE_ERROR
    assert (
        "--impl: a target belongs to one family, but --family selects rnn, lstm, gru; "
        "name its family alone"
    ) in result.stderr
    assert "--rnn-impl" not in result.stderr
    assert "Traceback" not in result.stderr
    result = _run(tmp_path, "--family", "all", env_extra={"RNN_CONFORMANCE_IMPL": "x:y"})
    assert result.returncode == pytest.ExitCode.USAGE_ERROR
    assert "$RNN_CONFORMANCE_IMPL: a target belongs to one family, but --family selects" in (
        result.stderr
    )
    result = _run(tmp_path, "--family", "rnn,lstm", "--cell-impl", "torch.nn:RNNCell")
    assert result.returncode == pytest.ExitCode.USAGE_ERROR
    assert "--cell-impl: a target belongs to one family, but --family selects rnn, lstm" in (
        result.stderr
    )
    assert not (tmp_path / "report.json").exists()


def test_pytest_checks_several_families_in_one_session(pytester):
    result = pytester.runpytest_subprocess(
        "--pyargs",
        "rnn_conformance.properties",
        "-p",
        "no:cacheprovider",
        "--rnn-family=all",
        "--co",
        "-q",
        "-k",
        "test_output_and_h_n_shapes",
    )
    assert result.ret == 0, result.stdout.str()[-3000:] + result.stderr.str()[-2000:]
    ids = sorted(line.split("::")[1] for line in result.stdout.lines if "::test_" in line)
    assert ids == [
        "test_output_and_h_n_shapes[gru-cpu]",
        "test_output_and_h_n_shapes[lstm-cpu]",
        "test_output_and_h_n_shapes[rnn-cpu]",
    ]


def test_pytest_several_families_with_an_impl_is_a_usage_error_naming_the_options(pytester):
    result = pytester.runpytest_subprocess(
        "--pyargs",
        "rnn_conformance.properties",
        "-p",
        "no:cacheprovider",
        "--rnn-family",
        "rnn,lstm",
        "--rnn-impl",
        "broken_rnns:LenientHxRNN",
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "*--rnn-impl: a target belongs to one family, but --rnn-family selects rnn, lstm; "
            "name its family alone*"
        ]
    )
