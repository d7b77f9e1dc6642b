"""The examples run end to end through the runner (ONNX Runtime only where installed)."""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _runner(tmp_path, impl, *pytest_args, profile="dev"):
    command = [sys.executable, "-m", "rnn_conformance", "--impl", impl, "--profile", profile]
    return subprocess.run(
        [*command, "--report-dir", str(tmp_path), "--", *pytest_args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=dict(os.environ),
        timeout=900,
    )


def test_pure_torch_example_passes_with_declared_gaps(tmp_path):
    result = _runner(tmp_path, "examples.pure_torch_rnn:LoopRNN")
    assert result.returncode == 0, result.stdout[-3000:]
    assert "skipped (lacks packed_sequences)" in result.stdout


@pytest.mark.skipif(
    importlib.util.find_spec("onnxruntime") is None or importlib.util.find_spec("onnx") is None,
    reason="the ONNX Runtime example needs the optional extra: pip install .[onnx]",
)
def test_onnx_runtime_example_passes_with_declared_gaps(tmp_path):
    result = _runner(tmp_path, "examples.onnx_runtime_rnn:OnnxRuntimeRNN")
    assert result.returncode == 0, result.stdout[-3000:]
    assert "skipped (lacks autograd)" in result.stdout
    assert "declared tanh absolute error: 4 u" in result.stdout


def test_onnx_runtime_tanh_approximation_is_caught_without_the_declaration(tmp_path):
    if importlib.util.find_spec("onnxruntime") is None:
        pytest.skip("the ONNX Runtime example needs the optional extra: pip install .[onnx]")
    result = _runner(
        tmp_path,
        "examples.onnx_runtime_rnn:OnnxRuntimeRNN",
        "--rnn-activation-error=0",
        "-k",
        "test_output_and_h_n_match_reference",
        profile="ci",
    )
    assert result.returncode == 1, result.stdout[-3000:]
    assert "differs from the float64 reference" in result.stdout


def test_compiled_example_passes(tmp_path):
    result = _runner(
        tmp_path, "examples.compiled_rnn:CompiledRNN", "-k", "reference or shapes or layout"
    )
    assert result.returncode == 0, result.stdout[-3000:]
