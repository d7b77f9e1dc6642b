"""The pytest plugin: bad targets and devices are usage errors; the header says what runs."""

from pathlib import Path

import pytest

PROPERTIES = ["--pyargs", "rnn_conformance.properties", "-p", "no:cacheprovider"]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("no_such_module_xyz:RNN", "cannot import module 'no_such_module_xyz'"),
        ("torch.nn:NoSuchRNN", "module 'torch.nn' has no attribute 'NoSuchRNN'"),
        ("math:pi", "resolved to a non-callable float"),
        ("torch.nn.RNN", "is not of the form 'module:attr'"),
    ],
)
def test_bad_rnn_impl_is_a_usage_error(pytester, spec, message):
    result = pytester.runpytest_subprocess(*PROPERTIES, "--rnn-impl", spec)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*--rnn-impl: *{message}*"])
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()


def test_rnn_impl_from_environment(pytester, monkeypatch):
    monkeypatch.setenv("RNN_CONFORMANCE_IMPL", "nowhere_pkg:RNN")
    result = pytester.runpytest_subprocess(*PROPERTIES)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*cannot import module 'nowhere_pkg'*"])


@pytest.mark.parametrize(
    ("device", "message"),
    [
        ("cuda:7", "device 'cuda:7' requested but*"),
        ("tpu", "unknown device 'tpu'*"),
        ("", "no device given*"),
    ],
)
def test_unavailable_device_is_a_usage_error(pytester, device, message):
    result = pytester.runpytest_subprocess(*PROPERTIES, f"--rnn-device={device}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*--rnn-device: {message}"])


def test_header_names_target_devices_versions_and_profile(pytester):
    full = pytester.runpytest_subprocess(*PROPERTIES, "--hypothesis-profile=dev", "--co")
    full.stdout.fnmatch_lines(
        [
            "rnn-conformance: families: rnn (nn.RNN)",
            "rnn-conformance: subjects: rnn-cpu: torch.nn:RNN (cell torch.nn:RNNCell)",
            "rnn-conformance: devices: cpu",
            "rnn-conformance: TF32: TF32 disabled*",
            "rnn-conformance: Hypothesis profile: dev (10 examples)",
            "rnn-conformance: versions: *torch 2.*",
        ]
    )


def test_unknown_family_from_the_environment_is_a_usage_error(pytester, monkeypatch):
    monkeypatch.setenv("RNN_CONFORMANCE_FAMILY", "xlstm")
    result = pytester.runpytest_subprocess(*PROPERTIES)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "*$RNN_CONFORMANCE_FAMILY: unknown recurrent family 'xlstm'; "
            "known: rnn, lstm, gru (or all)*"
        ]
    )


def test_a_cell_given_as_the_rnn_target_is_a_usage_error(pytester):
    result = pytester.runpytest_subprocess(*PROPERTIES, "--rnn-impl", "torch.nn:RNNCell")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*--rnn-impl torch.nn:RNNCell is torch.nn:RNNCell, nn.RNN's cell*--rnn-cell-impl*"]
    )


def test_every_property_is_parametrised_by_its_subject(pytester):
    result = pytester.runpytest_subprocess(*PROPERTIES, "--co", "-q", "--rnn-device=cpu,cpu")
    ids = [line for line in result.stdout.lines if "::test_" in line]
    assert ids
    # The cross-device property compares all selected devices in one test per subject.
    across = [line for line in ids if "test_all_selected_devices_agree" in line]
    assert across
    assert all(line.endswith("[rnn-across devices]") for line in across), across
    per_subject = [line for line in ids if line not in across]
    assert all("[rnn-cpu" in line for line in per_subject), per_subject
    assert len(set(ids)) == len(ids)  # cpu,cpu is one device


def test_every_family_of_a_comma_list_is_a_subject_of_the_one_session(pytester):
    result = pytester.runpytest_subprocess(
        *PROPERTIES, "--co", "--rnn-family=lstm,gru", "--hypothesis-profile=dev"
    )
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()[-2000:]
    result.stdout.fnmatch_lines(
        [
            "rnn-conformance: families: lstm (nn.LSTM), gru (nn.GRU)",
            "rnn-conformance: subjects: lstm-cpu: torch.nn:LSTM (cell torch.nn:LSTMCell); "
            "gru-cpu: torch.nn:GRU (cell torch.nn:GRUCell)",
        ]
    )
    functions = [line.strip() for line in result.stdout.lines if "<Function " in line]
    ids = [line.removeprefix("<Function ").removesuffix(">") for line in functions]
    subjects = {node.partition("[")[2].split("-")[0] for node in ids}
    assert subjects == {"lstm", "gru"}, subjects
    assert "test_output_and_h_n_shapes[lstm-cpu]" in ids
    assert "test_output_and_h_n_shapes[gru-cpu]" in ids
    assert "test_known_cases_match_reference[lstm-cpu-empty_batch]" in ids
    assert not any("rnn-cpu" in node for node in ids)


def test_an_unknown_family_in_a_comma_list_is_a_usage_error_naming_it(pytester):
    result = pytester.runpytest_subprocess(*PROPERTIES, "--rnn-family", "lstm,xlstm")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*--rnn-family: unknown recurrent family 'xlstm'; known: rnn, lstm, gru (or all)*"]
    )


def test_ci_profile_is_loaded_when_ci_is_set(pytester, monkeypatch):
    monkeypatch.setenv("CI", "true")
    result = pytester.runpytest_subprocess(*PROPERTIES, "--co")
    result.stdout.fnmatch_lines(["*Hypothesis profile: ci (100 examples)*"])


def test_unknown_capability_is_a_usage_error(pytester):
    result = pytester.runpytest_subprocess(*PROPERTIES, "--rnn-unsupported", "autograd,teleport")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*unknown capability 'teleport'*known: autograd*"])


def test_declared_capability_gaps_skip_with_the_capability_named(pytester):
    result = pytester.runpytest_subprocess(
        *PROPERTIES,
        "--hypothesis-profile=dev",
        "--rnn-unsupported=autograd,packed_sequences",
        "-k",
        "gradients or gradcheck or packed",
        "-rs",
    )
    result.stdout.fnmatch_lines(
        [
            "*unsupported capabilities: autograd, packed_sequences*",
            "*SKIPPED*target declares unsupported capability: autograd*",
            "*SKIPPED*target declares unsupported capability: packed_sequences*",
        ]
    )
    outcomes = result.parseoutcomes()
    assert outcomes.get("skipped") == 3
    assert "passed" not in outcomes
    assert "failed" not in outcomes


def test_capabilities_declared_on_the_target_are_honoured(pytester, monkeypatch):
    pytester.makepyfile(
        gapped_rnn="""
        from torch import nn

        class GappedRNN(nn.RNN):
            rnn_conformance_unsupported = ("float64", "unbatched")
        """
    )
    monkeypatch.setenv("PYTHONPATH", str(pytester.path))
    result = pytester.runpytest_subprocess(
        *PROPERTIES,
        "--hypothesis-profile=dev",
        "--rnn-impl=gapped_rnn:GappedRNN",
        "-k",
        "unbatched or gradcheck",
        "-rs",
    )
    result.stdout.fnmatch_lines(["*unsupported capabilities: float64, unbatched*"])
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed", 0) == 0
    # Every selected property needs unbatched input or float64 gradcheck: all skip.
    assert outcomes.get("skipped", 0) >= 2, result.stdout.str()[-2000:]
    assert outcomes.get("passed", 0) == 0, result.stdout.str()[-2000:]


def test_skips_file_skips_listed_properties_and_warns_about_stale_lines(pytester):
    skips = pytester.makefile(
        ".txt", skips="# known gaps\ntest_packed_sequences_run_as_if_alone\nno_such_property\n"
    )
    result = pytester.runpytest_subprocess(
        *PROPERTIES, "--hypothesis-profile=dev", f"--rnn-skips={skips}", "-k", "packed", "-rs"
    )
    result.stdout.fnmatch_lines(
        [
            "*'no_such_property' matches no collected property*",
            "*SKIPPED*listed in the skips file as 'test_packed_sequences_run_as_if_alone'*",
        ]
    )


XFAILS = """\
test_reduced_precision_matches_reference [dtype=bfloat16]  # no bfloat16 kernel yet
test_reduced_precision_matches_reference [device=cuda]  # applies on CUDA only
test_output_and_h_n_shapes  # thought broken, but it passes
test_output_and_h_n_shapes [dtype=float16]  # its dtype is drawn: does not apply
no_such_property  # stale
"""


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["in-process", "xdist"])
def test_xfails_file_marks_known_failures_strictly_within_their_scopes(
    pytester, monkeypatch, workers
):
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).parent))
    xfails = pytester.makefile(".txt", xfails=XFAILS)
    result = pytester.runpytest_subprocess(
        *PROPERTIES,
        "--hypothesis-profile=dev",
        "--rnn-impl=broken_rnns:NoReducedPrecisionRNN",
        f"--rnn-xfails={xfails}",
        "-k",
        "reduced_precision or test_output_and_h_n_shapes",
        "-rxXf",
        *workers,
    )
    output = result.stdout.str()
    assert "INTERNALERROR" not in output
    result.stdout.fnmatch_lines(
        [f"*rnn-conformance: xfails file: {xfails} (5 known failures)*"], consecutive=False
    )
    # The bfloat16 failure is known: xfailed, with the reason and where it is listed.
    result.stdout.fnmatch_lines(
        [
            "XFAIL *test_reduced_precision_matches_reference[[]rnn-cpu-bfloat16[]]*"
            f"no bfloat16 kernel yet (known failure: {xfails}:1 *",
        ]
    )
    # float16 is outside the dtype scope and cpu outside the device scope: it fails.
    result.stdout.fnmatch_lines(
        ["FAILED *test_reduced_precision_matches_reference[[]rnn-cpu-float16[]]*"]
    )
    # A known failure that passes fails the run: the fix is noticed.
    result.stdout.fnmatch_lines(["*[[]XPASS(strict)[]] thought broken, but it passes*"])
    result.stdout.fnmatch_lines(["FAILED *test_output_and_h_n_shapes[[]rnn-cpu[]]*"])
    assert f"{xfails}:5: 'no_such_property' matches no collected property" in output
    assert f"{xfails}:4: [dtype=float16] does not apply to" in output
    outcomes = result.parseoutcomes()
    assert outcomes.get("xfailed") == 1, output[-3000:]
    assert outcomes.get("failed") == 2, output[-3000:]
    assert "passed" not in outcomes


def test_malformed_xfails_file_is_a_usage_error_naming_file_and_line(pytester):
    xfails = pytester.makefile(".txt", xfails="# known\ntest_output_and_h_n_shapes\n")
    result = pytester.runpytest_subprocess(*PROPERTIES, f"--rnn-xfails={xfails}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [f"*--rnn-xfails: {xfails}:2: 'test_output_and_h_n_shapes' has no reason*"]
    )


def test_plugin_stays_out_of_other_projects_sessions(pytester):
    # A project of its own, with its own --device option and an ordinary test: the
    # installed plugin must neither collide with the option nor print, import torch or
    # change Hypothesis' settings there.
    pytester.makeconftest(
        """
        def pytest_addoption(parser):
            parser.addoption("--device", default="cpu")
        """
    )
    pytester.makepyfile(
        test_theirs="""
        import sys

        from hypothesis import Phase, settings

        def test_ordinary(request):
            assert request.config.getoption("--device") == "gpu"
            assert "torch" not in sys.modules
            # Hypothesis' own profile (its "ci" one when CI is set), not the suite's,
            # which drop the explain phase.
            assert settings.get_current_profile_name() in ("default", "ci")
            assert Phase.explain in settings.default.phases
        """
    )
    result = pytester.runpytest_subprocess(
        "-p", "rnn_conformance.plugin", "-p", "no:cacheprovider", "--device", "gpu"
    )
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()[-2000:]
    result.assert_outcomes(passed=1)
    assert "rnn-conformance:" not in result.stdout.str() + result.stderr.str()


def test_plugin_options_are_all_prefixed(pytester):
    result = pytester.runpytest_subprocess("-p", "rnn_conformance.plugin", "--help")
    section = result.stdout.str().split("RNN conformance suite:")[1].split("\n\n")[0]
    options = [line.split()[0] for line in section.splitlines() if line.strip().startswith("--")]
    assert options, section
    assert all(option.startswith("--rnn-") for option in options), options


def test_readme_documents_every_option():
    from pathlib import Path

    from rnn_conformance.running.options import OPTIONS

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    for option in OPTIONS.values():
        assert f"`{option.pytest_name}" in readme, option.pytest_name
        assert f"`{option.runner_name}" in readme, option.runner_name


def test_readme_lists_every_capability():
    from pathlib import Path

    from rnn_conformance.generation.capabilities import CAPABILITIES

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    capabilities = readme.split("Capabilities: ", 1)[1].split(". ", 1)[0]
    assert all(f"`{name}`" in capabilities for name in CAPABILITIES), capabilities
