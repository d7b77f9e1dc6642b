"""Batch elements are independent: permuting or splitting the batch changes nothing.

Permuting the batch permutes output and h_n; running any subset of the batch alone
gives that subset's results. Compared at twice the tolerance bound, not bitwise:
kernels may legitimately block the batch differently for different sizes (PyTorch issue
#32023 shows CPU results shifting slightly with batch splitting).
"""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from rnn_conformance.generation.strategies import batch_sizes, rnn_cases
from rnn_conformance.harness import (
    TargetRun,
    assert_runs_agree,
    batch_axis,
    build_module,
    observe,
    run_target,
)
from rnn_conformance.numerics.layouts import map_state

several = batch_sizes(min_size=2, allow_unbatched=False, allow_empty=False)


def _select(case, run_or_arrays, order):
    """Select the given batch elements, in that order, of (output, h_n) or (input, hx)."""
    first, second = run_or_arrays
    return (
        np.take(first, order, axis=batch_axis(case.config)),
        map_state(lambda state: state[:, order], second),
    )


@given(case=rnn_cases(batches=several), data=st.data())
def test_permuting_the_batch_permutes_the_results(subject, case, data):
    observe(subject, case)
    order = data.draw(st.permutations(range(case.batch_size)), label="batch order")
    module = build_module(subject, case)
    run = run_target(subject, case, module=module)
    x, hx = _select(case, (case.input, case.hx), order)
    permuted = run_target(subject, case.with_(input=x, hx=hx), module=module)
    expected = TargetRun(*_select(case, (run.output, run.h_n), order), None, None)
    assert_runs_agree(
        subject,
        case.with_(input=x, hx=hx),
        permuted,
        expected,
        claim=f"permuting the batch by {list(order)} permutes output and h_n",
    )


@given(case=rnn_cases(batches=several), data=st.data())
def test_each_sequence_is_independent_of_the_rest_of_the_batch(subject, case, data):
    observe(subject, case)
    subset = sorted(
        data.draw(
            st.sets(st.integers(0, case.batch_size - 1), min_size=1, max_size=case.batch_size),
            label="batch elements run alone",
        )
    )
    module = build_module(subject, case)
    run = run_target(subject, case, module=module)
    x, hx = _select(case, (case.input, case.hx), subset)
    part = case.with_(input=x, hx=hx, batch_size=len(subset))
    alone = run_target(subject, part, module=module)
    expected = TargetRun(*_select(case, (run.output, run.h_n), subset), None, None)
    assert_runs_agree(
        subject,
        part,
        alone,
        expected,
        claim=f"batch elements {subset} run alone give the same output and h_n as in a "
        f"batch of {case.batch_size}",
    )
