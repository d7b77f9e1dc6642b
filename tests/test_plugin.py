"""The pytest plugin: bad targets and devices are usage errors; the header says what runs."""

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
        ("", "--device is empty*"),
    ],
)
def test_unavailable_device_is_a_usage_error(pytester, device, message):
    result = pytester.runpytest_subprocess(*PROPERTIES, f"--device={device}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*--device: {message}"])


def test_header_names_target_devices_versions_and_profile(pytester):
    full = pytester.runpytest_subprocess(*PROPERTIES, "--hypothesis-profile=dev", "--co")
    full.stdout.fnmatch_lines(
        [
            "rnn-conformance: target torch.nn:RNN; devices cpu",
            "rnn-conformance: torch *, hypothesis profile 'dev' (10 examples)",
            "rnn-conformance: TF32 disabled*",
        ]
    )


def test_every_property_is_parametrised_by_device(pytester):
    result = pytester.runpytest_subprocess(*PROPERTIES, "--co", "-q", "--device=cpu,cpu")
    ids = [line for line in result.stdout.lines if "::test_" in line]
    assert ids
    assert all("[cpu" in line for line in ids)


def test_ci_profile_is_loaded_when_ci_is_set(pytester, monkeypatch):
    monkeypatch.setenv("CI", "true")
    result = pytester.runpytest_subprocess(*PROPERTIES, "--co")
    result.stdout.fnmatch_lines(["*hypothesis profile 'ci'*"])
