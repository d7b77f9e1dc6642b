"""Calls that nn.RNN defines to be equivalent give the same results.

``batch_first=True`` is a transpose of input and output and leaves h_n alone; unbatched
2-D input is batched input with N=1, squeezed; omitting hx, passing ``None`` and
passing zeros are the same. Two runs of the target are compared at twice the tolerance
bound (each is within one bound of the exact result).
"""

import numpy as np
import pytest
from hypothesis import given, target
from hypothesis import strategies as st

from rnn_conformance.generation.strategies import batch_sizes, rnn_cases
from rnn_conformance.harness import (
    assert_runs_agree,
    batch_axis,
    build_module,
    observe,
    run_target,
)
from rnn_conformance.numerics.layouts import map_state

batched_only = batch_sizes(allow_unbatched=False)


@given(case=rnn_cases(batches=batched_only))
def test_batch_first_is_a_transpose(subject, case):
    observe(subject, case)
    flipped_config = case.config.with_(batch_first=not case.config.batch_first)
    flipped = case.with_(config=flipped_config, input=case.input.transpose(1, 0, 2))
    run = run_target(subject, case)
    other = run_target(subject, flipped)
    transposed_back = other.__class__(
        other.output.transpose(1, 0, 2), other.h_n, other.output_tensor, other.h_n_tensor
    )
    target(
        assert_runs_agree(
            subject,
            case,
            run,
            transposed_back,
            claim="batch_first transposes input and output, not h_n",
        ),
        label="difference / allowed",
    )


@pytest.mark.rnn_requires("unbatched")
@given(case=rnn_cases(batches=st.none()))
def test_unbatched_equals_batched_of_one(subject, case):
    observe(subject, case)
    axis = batch_axis(case.config)
    batched = case.with_(
        batch_size=1,
        input=np.expand_dims(case.input, axis),
        hx=map_state(lambda h: h[:, None, :], case.hx),
    )
    run = run_target(subject, case)
    batched_run = run_target(subject, batched)
    squeezed = batched_run.__class__(
        np.squeeze(batched_run.output, axis),
        map_state(lambda h: h[:, 0], batched_run.h_n),
        batched_run.output_tensor,
        batched_run.h_n_tensor,
    )
    target(
        assert_runs_agree(
            subject,
            case,
            run,
            squeezed,
            claim="unbatched input equals batched input with N=1, squeezed",
        ),
        label="difference / allowed",
    )


@given(case=rnn_cases(allow_none_hx=False))
def test_missing_hx_equals_zeros(subject, case):
    zeros = case.with_(hx=map_state(np.zeros_like, case.hx))
    omitted = case.with_(hx=None)
    observe(subject, zeros)
    module = build_module(subject, zeros)
    with_zeros = run_target(subject, zeros, module=module)
    with_none = run_target(subject, omitted, module=module)
    without_arg = run_target(subject, omitted, module=module, pass_hx=False)
    for run, how in ((with_none, "hx=None"), (without_arg, "no hx argument")):
        assert_runs_agree(subject, zeros, run, with_zeros, claim=f"{how} equals hx=zeros")
