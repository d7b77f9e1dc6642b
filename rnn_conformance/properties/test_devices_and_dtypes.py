"""Devices agree with each other, and reduced precision meets its own tolerance.

* With two or more devices selected (``--device all`` on a CUDA machine), the same
  module and inputs on every device agree within twice the tolerance bound (each
  device is within one bound of the exact result; TF32 as the report header states).
* float16 and bfloat16 modules match the float64 reference within the policy at that
  dtype's unit roundoff, on every selected device that supports them. Support is
  detected at run time by building and calling a small module; an unsupported
  combination is skipped with the error it raised as the reason.
"""

import functools

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from rnn_conformance.config import RNNConfig
from rnn_conformance.harness import (
    TORCH_DTYPES,
    TargetRun,
    assert_runs_agree,
    compare_with_reference,
    observe,
    run_target,
)
from rnn_conformance.plugin import devices_of
from rnn_conformance.strategies import rnn_cases

REDUCED_PRECISION = ("float16", "bfloat16")


@pytest.fixture(scope="session")
def selected_devices(request):
    """Every device of this run (the property compares them, so it is not per device)."""
    devices = devices_of(request.config)
    if len(devices) < 2:
        pytest.skip(
            f"needs two or more devices to compare; this run selected {devices} "
            "(use --device all on a machine with CUDA)"
        )
    return devices


@given(case=rnn_cases())
def test_all_selected_devices_agree(suite, selected_devices, case):
    first, *others = selected_devices
    observe(suite, case, first)
    reference = run_target(suite, case, first)
    for device in others:
        run = run_target(suite, case, device)
        assert_runs_agree(
            suite,
            case,
            device,
            run,
            TargetRun(reference.output, reference.h_n, run.output_tensor, run.h_n_tensor),
            claim=f"{device} agrees with {first}",
        )


@functools.cache
def _unsupported_reason(suite, device, dtype):
    """Why the target cannot run an RNN in ``dtype`` on ``device``, or None if it can."""
    config = RNNConfig(input_size=2, hidden_size=3)
    try:
        module = suite.target.build(config, device=device, dtype=TORCH_DTYPES[dtype]).eval()
        with torch.no_grad():
            module(torch.zeros(2, 1, 2, dtype=TORCH_DTYPES[dtype], device=device))
    except Exception as exc:
        return f"{suite.target.spec} does not run {dtype} on {device}: {type(exc).__name__}: {exc}"
    return None


@pytest.mark.parametrize("dtype", REDUCED_PRECISION)
@given(data=st.data())
def test_reduced_precision_matches_reference(suite, device, dtype, data):
    reason = _unsupported_reason(suite, device, dtype)
    if reason is not None:
        pytest.skip(reason)
    case = data.draw(rnn_cases(dtypes=(dtype,)), label="case")
    observe(suite, case, device)
    compare_with_reference(suite, case, device, run_target(suite, case, device))
