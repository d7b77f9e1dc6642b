"""Devices agree with each other, and reduced precision meets its own tolerance.

* With two or more devices selected (``--device all`` on a CUDA machine), the same
  module and inputs on every device agree within twice the tolerance bound (each
  device is within one bound of the exact result; TF32 as the report header states).
* float16 and bfloat16 modules match the float64 reference within the policy at that
  dtype's unit roundoff, on every selected device where torch.nn.RNN itself runs them.
  That is probed once per device and dtype by building and calling torch.nn.RNN (both
  nonlinearities, two bidirectional layers); where torch cannot, there is no behaviour
  to conform to and the property is skipped with torch's error as the reason. A target
  that lacks a dtype declares it (capability ``float16`` or ``bfloat16``) and is
  skipped with that named; a target that raises for a dtype it did not declare fails,
  unless torch.nn.RNN raises for that very case too (then it is skipped, saying so).
"""

import functools
from dataclasses import replace

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from rnn_conformance.generation.strategies import rnn_cases
from rnn_conformance.harness import (
    TORCH_DTYPES,
    TargetRun,
    assert_runs_agree,
    compare_with_reference,
    observe,
    run_target,
)
from rnn_conformance.harness.target import Target, TargetContractError
from rnn_conformance.numerics.config import RNNConfig
from rnn_conformance.running.hooks.configure import facts_of
from rnn_conformance.running.hooks.subjects import across_devices

REDUCED_PRECISION = ("float16", "bfloat16")


@pytest.fixture(scope="session")
def selected_devices(request):
    """Every device of this run (the property compares them, so it is not per device)."""
    devices = facts_of(request.config).devices
    if len(devices) < 2:
        pytest.skip(
            f"needs two or more devices to compare; this run selected {devices} "
            "(use --device all on a machine with CUDA)"
        )
    return devices


@across_devices
@given(case=rnn_cases())
def test_all_selected_devices_agree(subject, selected_devices, case):
    # The subject is on the first device; the same targets run on each of the others.
    first, *others = selected_devices
    observe(subject, case)
    reference = run_target(subject, case)
    for device in others:
        there = replace(subject, device=device)
        run = run_target(there, case)
        assert_runs_agree(
            there,
            case,
            run,
            TargetRun(reference.output, reference.h_n, run.output_tensor, run.h_n_tensor),
            claim=f"{device} agrees with {first}",
        )


def _torch_module(family):
    """Torch's own module of the family: the behaviour every target is held to."""
    return Target.from_spec(family.module_target, family)


@functools.cache
def _torch_unsupported_reason(family, device, dtype):
    """Why torch's module of ``family`` cannot run ``dtype`` on ``device``, or None."""
    probe = RNNConfig(2, 3, num_layers=2, bidirectional=True, family=family)
    # Its relu mode too, where it has one: a kernel may support one and not the other.
    for options in ({}, *([family.relu_options] if family.relu_options else [])):
        config = probe.with_(**options)
        try:
            module = (
                _torch_module(family).build(config, device=device, dtype=TORCH_DTYPES[dtype]).eval()
            )
            with torch.no_grad():
                module(torch.zeros(2, 1, 2, dtype=TORCH_DTYPES[dtype], device=device))
        except Exception as exc:
            return (
                f"torch's {family.title} itself does not run {dtype} on {device} "
                f"({config.describe()} "
                f"raised {type(exc).__name__}: {exc}), so there is no behaviour to conform to"
            )
    return None


def _torch_rejection(subject, case):
    """Torch's module's exception for exactly this case, or None if it runs it."""
    try:
        run_target(replace(subject, target=_torch_module(subject.family)), case)
    except TargetContractError as exc:
        return exc
    return None


@pytest.mark.parametrize(
    "dtype", [pytest.param(d, marks=pytest.mark.rnn_requires(d)) for d in REDUCED_PRECISION]
)
@given(data=st.data())
def test_reduced_precision_matches_reference(subject, dtype, data):
    device = subject.device
    reason = _torch_unsupported_reason(subject.family, device, dtype)
    if reason is not None:
        pytest.skip(reason)
    case = data.draw(rnn_cases(dtypes=(dtype,)), label="case")
    observe(subject, case)
    try:
        run = run_target(subject, case)
    except TargetContractError as exc:
        if exc.__cause__ is None:
            raise  # a wrong result (shape, dtype, device), not a refusal
        torch_error = _torch_rejection(subject, case)
        if torch_error is not None:
            # The probe passed, but torch's support depends on the case: nothing to hold
            # the target to here, and no reason to believe the other cases are covered.
            pytest.skip(
                f"torch's {subject.family.title} itself does not run this {dtype} case on {device} "
                f"({torch_error}); {case.config.describe()}"
            )
        raise TargetContractError(
            f"{exc}\n  torch's {subject.family.title} runs this {dtype} case on {device}; a target "
            f"that does "
            f"not support {dtype} must declare it (capability {dtype!r}: the "
            f"rnn_conformance_unsupported attribute or --rnn-unsupported={dtype})\n"
            f"  {case.describe()}"
        ) from exc
    compare_with_reference(subject, case, run)
