"""PackedSequence input: each sequence behaves as if run alone, unpadded.

For ``pack_padded_sequence`` input (``enforce_sorted`` True with lengths sorted, and
False with any order; with and without hx): after ``pad_packed_sequence``, sequence
i's first ``length_i`` outputs equal running it alone on its unpadded steps; the padded
positions are exactly zero; ``h_n[:, i]`` is its state at its own last step (first
step, for the reverse direction). Tolerance: each sequence's own reference bound.

Before any value is compared, the results get the checks every call gets
(:func:`~rnn_conformance.harness.check_result`: type, dtype, shape, device): the output is
a PackedSequence with the input's ``batch_sizes`` and indices, whose data has one row per
packed step; unpacked, it and each part of h_n have the dtype, device and shape of
nn.RNN's table. So a wrong dtype is reported as a wrong dtype, not as a rounding error.
"""

from functools import partial

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from rnn_conformance.generation.strategies import batch_sizes, rnn_cases
from rnn_conformance.harness import (
    batch_axis,
    build_module,
    case_tensors,
    check_result,
    hidden_axes,
    observe,
    output_axes,
    precision_for,
    run_reference,
    time_axis,
)
from rnn_conformance.harness.target import TargetContractError
from rnn_conformance.numerics.layouts import map_state
from rnn_conformance.numerics.reference import as_float64
from rnn_conformance.numerics.tolerances import assert_identical, assert_within

batched = batch_sizes(allow_unbatched=False, allow_empty=False)


def _sequence(state, i):
    """Sequence ``i`` of a state part, keeping the batch axis."""
    return state[:, [i]]


def _same_indices(got, given):
    """Whether a PackedSequence's index tensor is the input's (both ``None``, or equal)."""
    if got is None or given is None:
        return got is None and given is None
    return torch.equal(got.cpu(), given.cpu())


def _check_packed_result(subject, case, packed, output, h_n, lengths):
    """The checks of every call, for PackedSequence input; returns the padded output.

    The packing itself first (the input's ``batch_sizes`` and indices, one data row per
    packed step, the data's dtype and device), then :func:`check_result` on the output
    unpacked to the case's full length and on h_n.
    """
    where = f"for a PackedSequence of lengths {lengths} (input shape {tuple(case.input.shape)})"
    data = output.data
    rows = (int(sum(lengths)), case.config.num_directions * case.config.output_size)
    problems = []
    if tuple(data.shape) != rows:
        problems.append(f"data of shape {tuple(data.shape)}, expected {rows}")
    if not torch.equal(output.batch_sizes.cpu(), packed.batch_sizes.cpu()):
        problems.append(
            f"batch_sizes {output.batch_sizes.tolist()}, expected the input's "
            f"{packed.batch_sizes.tolist()}"
        )
    for name in ("sorted_indices", "unsorted_indices"):
        got, given = getattr(output, name), getattr(packed, name)
        if not _same_indices(got, given):
            shown = [None if t is None else t.tolist() for t in (got, given)]
            problems.append(f"{name} {shown[0]}, expected the input's {shown[1]}")
    if problems:
        raise TargetContractError(
            f"{subject.target.spec} returned a PackedSequence with "
            + "; ".join(problems)
            + f" {where}"
        )
    padded, _ = pad_packed_sequence(
        output, batch_first=case.config.batch_first, total_length=case.seq_len
    )
    try:
        check_result(subject, case, padded, h_n)
    except TargetContractError as exc:
        raise TargetContractError(
            f"{exc}\n  {where}; output is its data unpacked by pad_packed_sequence"
        ) from None
    return padded


@pytest.mark.rnn_requires("packed_sequences")
@given(case=rnn_cases(batches=batched), enforce_sorted=st.booleans(), data=st.data())
def test_packed_sequences_run_as_if_alone(subject, case, enforce_sorted, data):
    device = subject.device
    observe(subject, case)
    lengths = data.draw(
        st.lists(st.integers(1, case.seq_len), min_size=case.batch_size, max_size=case.batch_size),
        label="lengths",
    )
    if enforce_sorted:
        lengths = sorted(lengths, reverse=True)
    bf = case.config.batch_first
    module = build_module(subject, case)
    x, hx = case_tensors(case, device)
    packed = pack_padded_sequence(
        x, torch.tensor(lengths), batch_first=bf, enforce_sorted=enforce_sorted
    )
    with torch.no_grad():
        output, h_n = subject.target.forward(module, packed, hx)
    padded = _check_packed_result(subject, case, packed, output, h_n, lengths)
    padded, h_n = as_float64(padded), map_state(as_float64, h_n)
    steps_axis, sequences_axis = time_axis(case), batch_axis(case.config)
    precision = precision_for(subject, case)
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
