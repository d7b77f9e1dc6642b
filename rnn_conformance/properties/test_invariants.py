"""Behaviour every user relies on: output ranges, determinism, inputs left untouched.

Outputs and states stay in the interval their family guarantees, exactly (no tolerance):
nn.RNN's tanh in [-1, 1] and relu >= 0, nn.LSTM's ``h = o * tanh(c)`` in [-1, 1] when not
projected (a projected ``h`` and ``c`` have no bound, so the property draws no projection),
all three from any ``h_0``; nn.GRU's ``h`` in [-1, 1] from any ``h_0`` in [-1, 1] (``h'``
is a convex combination of ``tanh(...)`` and ``h``, so a larger ``h_0`` persists; the
drawn ``h_0`` is clipped into that interval, which makes +-1 frequent: the edge where a
kernel's rounding of ``n + z * (h - n)`` could step outside). Two calls on the same
inputs in eval mode agree bit for bit; ``input`` and ``hx`` hold the same values after
the call as before.
"""

from dataclasses import replace

import numpy as np
import torch
from hypothesis import given

from rnn_conformance.generation.cases import RNNCase
from rnn_conformance.generation.strategies import memory_layouts, rnn_cases, rnn_configs
from rnn_conformance.harness import build_module, case_tensors, observe, run_target
from rnn_conformance.numerics.layouts import map_state, output_part, pack_state, state_parts
from rnn_conformance.numerics.tolerances import assert_identical, leaves


def starting_within_range(case: RNNCase) -> RNNCase:
    """``case`` with each part of ``h_0`` clipped into its family's start range, if any."""
    starts = case.config.family.start_ranges(case.config)
    if case.hx is None or all(start is None for start in starts):
        return case
    parts = state_parts(case.config, case.hx)
    clipped = [
        part if start is None else np.clip(part, *start)
        for part, start in zip(parts, starts, strict=True)
    ]
    return replace(case, hx=pack_state(case.config, clipped))


@given(case=rnn_cases(configs=rnn_configs(projections=False)).map(starting_within_range))
def test_outputs_stay_in_the_nonlinearity_range(subject, case):
    observe(subject, case)
    run = run_target(subject, case)
    ranges = case.config.family.state_ranges(case.config)
    parts = leaves(run.h_n, "h_n")
    checked = [("output", run.output, ranges[0])] + [
        (name, values, bounds) for (name, values), bounds in zip(parts, ranges, strict=True)
    ]
    assert checked[0][2] is not None, f"{case.config.family.title} declares no output range"
    for name, values, bounds in checked:
        if bounds is None:
            continue
        low, high = bounds
        bad = (values < low) | (values > high) | np.isnan(values)
        assert not bad.any(), (
            f"{bad.sum()} {name} values outside [{low}, {high}] for {case.config.describe()}, "
            f"e.g. {values[bad][:3]}\n  {case.describe()}"
        )


@given(case=rnn_cases())
def test_repeated_calls_are_deterministic(subject, case):
    observe(subject, case)
    module = build_module(subject, case)
    first = run_target(subject, case, module=module)
    second = run_target(subject, case, module=module)
    for name, a, b in (("output", first.output, second.output), ("h_n", first.h_n, second.h_n)):
        assert_identical(
            b,
            a,
            what=name,
            axes=tuple(f"dim{i}" for i in range(output_part(a).ndim)),
            context=f"a second identical call changed {name}\n  {case.describe()}",
        )


@given(case=rnn_cases(allow_none_hx=False, layouts=memory_layouts()))
def test_forward_does_not_modify_input_or_hx(subject, case):
    device = subject.device
    observe(subject, case)
    module = build_module(subject, case)
    x, hx = case_tensors(case, device)
    before = (x.clone(), map_state(torch.clone, hx))
    with torch.no_grad():
        subject.target.forward(module, x, hx)
    assert torch.equal(x, before[0]), f"forward modified its input\n  {case.describe()}"
    for (name, now), (_, then) in zip(leaves(hx, "hx"), leaves(before[1], "hx"), strict=True):
        assert torch.equal(now, then), f"forward modified {name}\n  {case.describe()}"
