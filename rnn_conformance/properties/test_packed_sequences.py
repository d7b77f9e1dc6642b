"""PackedSequence input: each sequence behaves as if run alone, unpadded.

For ``pack_padded_sequence`` input (``enforce_sorted`` True with lengths sorted, and
False with any order; with and without hx): after ``pad_packed_sequence``, sequence
i's first ``length_i`` outputs equal running it alone on its unpadded steps; the padded
positions are exactly zero; ``h_n[:, i]`` is its state at its own last step (first
step, for the reverse direction). Tolerance: each sequence's own reference bound.
"""

from functools import partial

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from rnn_conformance.harness import (
    batch_axis,
    build_module,
    case_tensors,
    hidden_axes,
    observe,
    output_axes,
    precision_for,
    run_reference,
    time_axis,
)
from rnn_conformance.layouts import map_state
from rnn_conformance.reference import as_float64
from rnn_conformance.strategies import batch_sizes, rnn_cases
from rnn_conformance.tolerances import assert_identical, assert_within

batched = batch_sizes(allow_unbatched=False, allow_empty=False)


def _sequence(state, i):
    """Sequence ``i`` of a state part, keeping the batch axis."""
    return state[:, [i]]


@pytest.mark.rnn_requires("packed_sequences")
@given(case=rnn_cases(batches=batched), enforce_sorted=st.booleans(), data=st.data())
def test_packed_sequences_run_as_if_alone(suite, device, case, enforce_sorted, data):
    observe(suite, case, device)
    lengths = data.draw(
        st.lists(st.integers(1, case.seq_len), min_size=case.batch_size, max_size=case.batch_size),
        label="lengths",
    )
    if enforce_sorted:
        lengths = sorted(lengths, reverse=True)
    bf = case.config.batch_first
    module = build_module(suite, case, device)
    x, hx = case_tensors(case, device)
    packed = pack_padded_sequence(
        x, torch.tensor(lengths), batch_first=bf, enforce_sorted=enforce_sorted
    )
    with torch.no_grad():
        output, h_n = suite.target.forward(module, packed, hx)
    padded, _ = pad_packed_sequence(output, batch_first=bf, total_length=case.seq_len)
    padded, h_n = as_float64(padded), map_state(as_float64, h_n)
    steps_axis, sequences_axis = time_axis(case), batch_axis(case.config)
    precision = precision_for(suite, case, device)
    for i, length in enumerate(lengths):
        alone = case.with_(
            input=np.take(
                np.take(case.input, [i], axis=sequences_axis), range(length), axis=steps_axis
            ),
            hx=map_state(partial(_sequence, i=i), case.hx),
            seq_len=length,
            batch_size=1,
        )
        expected = run_reference(alone, precision)
        mine = np.take(padded, [i], axis=sequences_axis)
        context = (
            f"sequence {i} of lengths {lengths} (enforce_sorted={enforce_sorted}) in a "
            f"PackedSequence differs from running it alone\n  {case.describe()}"
        )
        assert_within(
            np.take(mine, range(length), axis=steps_axis),
            expected.output,
            expected.bounds.output,
            what=f"output of sequence {i}",
            axes=output_axes(alone),
            context=context,
        )
        assert_within(
            map_state(partial(_sequence, i=i), h_n),
            expected.h_n,
            expected.bounds.h_n,
            what=f"h_n of sequence {i}",
            axes=hidden_axes(alone),
            context=context,
        )
        padding = np.take(mine, range(length, case.seq_len), axis=steps_axis)
        assert_identical(
            padding,
            np.zeros_like(padding),
            what=f"padded output of sequence {i} after step {length}",
            axes=output_axes(alone),
            context=context,
        )
