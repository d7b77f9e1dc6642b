"""Composite RNNs are their parts: stacking, bidirectionality and the cell recurrence.

* ``num_layers=k`` equals k one-layer RNNs chained, layer j getting the ``_l{j}``
  weights and the previous layer's output (h_n stacked layer by layer);
* a bidirectional layer equals a forward RNN on x concatenated with a reverse RNN run
  on x flipped in time and flipped back; h_n is ordered layer-major, direction-minor;
* stepping the cell target with layer-0 weights reproduces a one-layer RNN.

All parts are the target itself (or the cell target), so each claim compares two runs
of implementations under test at twice the tolerance bound. The cell claim involves two
implementations; when it fails, each is compared with the reference to name the one at
fault.
"""

import numpy as np
import pytest
from hypothesis import given

from rnn_conformance.generation.cases import RNNCase
from rnn_conformance.generation.strategies import batch_sizes, rnn_cases, rnn_configs
from rnn_conformance.harness import (
    Expected,
    Subject,
    TargetRun,
    assert_runs_agree,
    hidden_axes,
    layer_params,
    observe,
    output_axes,
    precision_for,
    run_cell_target,
    run_reference,
    run_target,
    time_axis,
)
from rnn_conformance.numerics.layouts import map_state, output_part
from rnn_conformance.numerics.tolerances import ToleranceError, assert_within

non_empty = batch_sizes(allow_empty=False)


@given(case=rnn_cases(configs=rnn_configs(min_layers=2), batches=non_empty))
def test_stacked_layers_equal_chained_single_layers(subject, case):
    observe(subject, case)
    whole = run_target(subject, case)
    D, layer_input, finals = case.config.num_directions, case.input, []
    for layer in range(case.config.num_layers):
        config = case.config.with_(
            num_layers=1, dropout=0.0, input_size=case.config.layer_input_size(layer)
        )
        part = case.with_(
            config=config,
            input=layer_input,
            hx=map_state(lambda h, k=layer: h[k * D : (k + 1) * D], case.hx),
            params=layer_params(case.params, layer),
        )
        run = run_target(subject, part)
        layer_input = run.output
        finals.append(run.h_n)
    chained = TargetRun(
        layer_input,
        map_state(lambda *hs: np.concatenate(hs), *finals),
        whole.output_tensor,
        whole.h_n_tensor,
    )
    assert_runs_agree(
        subject,
        case,
        chained,
        whole,
        claim=f"num_layers={case.config.num_layers} equals that many one-layer RNNs chained",
    )


@pytest.mark.rnn_requires("bidirectional")
@given(case=rnn_cases(configs=rnn_configs(bidirectional=True, max_layers=1), batches=non_empty))
def test_bidirectional_equals_forward_and_flipped_reverse(subject, case):
    observe(subject, case)
    whole = run_target(subject, case)
    axis = time_axis(case)
    one_way = case.config.with_(bidirectional=False)
    forward = run_target(
        subject,
        case.with_(
            config=one_way,
            hx=map_state(lambda h: h[:1], case.hx),
            params=layer_params(case.params, 0, directions=(0,)),
        ),
    )
    reverse_params = layer_params(case.params, 0, directions=(1,), as_direction=0)
    reverse = run_target(
        subject,
        case.with_(
            config=one_way,
            input=np.flip(case.input, axis).copy(),
            hx=map_state(lambda h: h[1:], case.hx),
            params=reverse_params,
        ),
    )
    combined = TargetRun(
        np.concatenate([forward.output, np.flip(reverse.output, axis)], axis=-1),
        map_state(lambda f, r: np.concatenate([f, r]), forward.h_n, reverse.h_n),
        whole.output_tensor,
        whole.h_n_tensor,
    )
    assert_runs_agree(
        subject,
        case,
        combined,
        whole,
        claim="a bidirectional layer equals a forward RNN on x and a reverse RNN on flip(x), "
        "concatenated (h_n: forward then reverse)",
    )


# Drawn within what both targets support: the RNN's and the cell's declarations.
one_layer_without_projection = rnn_configs(
    max_layers=1, bidirectional=False, projections=False, uses="both"
)


@given(
    case=rnn_cases(
        configs=one_layer_without_projection,
        batches=batch_sizes(allow_empty=False, uses="both"),
        uses="both",
    )
)
def test_cell_steps_reproduce_one_layer_rnn(subject, case):
    observe(subject, case, uses="both")
    whole = run_target(subject, case)
    axis = time_axis(case)
    h = map_state(lambda h: h[0], case.hx)
    outputs = []
    for step in range(case.seq_len):
        h = run_cell_target(subject, case, np.take(case.input, step, axis=axis), h)
        outputs.append(h)
    stepped = TargetRun(
        np.stack([output_part(state) for state in outputs], axis=axis),
        map_state(lambda part: part[None], h),
        whole.output_tensor,
        whole.h_n_tensor,
    )
    # Each target is judged by its own declared accuracy; each is within its own bound of
    # the exact result, so the two may differ by the sum of the bounds (twice the bound
    # when neither declares anything, as for any two runs of one target).
    rnn_expected = run_reference(case, precision_for(subject, case))
    cell_precision = precision_for(subject, case, cell=True)
    cell_expected = (
        rnn_expected
        if cell_precision == precision_for(subject, case)
        else run_reference(case, cell_precision)
    )
    claim = f"stepping {subject.cell_target.spec} with layer-0 weights equals the one-layer RNN"
    axes = {"output": output_axes(case), "h_n": hidden_axes(case)}
    try:
        for name in ("output", "h_n"):
            assert_within(
                getattr(stepped, name),
                getattr(whole, name),
                map_state(
                    np.add, getattr(rnn_expected.bounds, name), getattr(cell_expected.bounds, name)
                ),
                what=name,
                axes=axes[name],
            )
    except ToleranceError as disagreement:
        verdict = _blame(subject, case, claim, stepped, whole, cell_expected, rnn_expected)
        raise ToleranceError(disagreement.mismatch, verdict) from None


def _deviation(case: RNNCase, run: TargetRun, expected: Expected) -> ToleranceError | None:
    """How ``run`` leaves the reference's tolerance band, or None if it stays inside."""
    axes = {"output": output_axes(case), "h_n": hidden_axes(case)}
    try:
        for name in ("output", "h_n"):
            assert_within(
                getattr(run, name),
                getattr(expected, name),
                getattr(expected.bounds, name),
                what=name,
                axes=axes[name],
            )
    except ToleranceError as exc:
        return exc
    return None


def _blame(
    subject: Subject,
    case: RNNCase,
    claim: str,
    stepped: TargetRun,
    whole: TargetRun,
    cell_expected: Expected,
    rnn_expected: Expected,
) -> str:
    """Why the claim failed, naming whichever target leaves the reference's band.

    Both within their bounds of the reference implies within the sum of each other, so
    when the claim fails at least one of them is outside its own band. The returned text
    ends with the heading of the disagreement, which the caller's error appends.
    """
    assert subject.cell_target is not None
    parts = {
        f"the cell target {subject.cell_target.spec}": _deviation(case, stepped, cell_expected),
        f"the module target {subject.target.spec}": _deviation(case, whole, rnn_expected),
    }
    at_fault = [who for who, deviation in parts.items() if deviation is not None]
    if len(at_fault) == 2:
        verdict = f"both {at_fault[0]} and {at_fault[1]} differ from the float64 reference"
    elif at_fault:
        (innocent,) = [who for who in parts if who not in at_fault]
        verdict = f"{at_fault[0]} differs from the float64 reference ({innocent} agrees with it)"
    else:
        verdict = "neither target alone leaves the reference's tolerance band"
    lines = [f"{claim} does not hold on {subject.device}: {verdict}", f"  {case.describe()}"]
    for who in at_fault:
        lines.append(f"{who} against the reference:\n{parts[who]}")
    lines.append(
        "the two against each other, within the sum of their bounds (actual: the stepped "
        "cell, expected: the RNN):"
    )
    return "\n".join(lines)
