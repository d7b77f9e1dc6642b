"""Time structure of a unidirectional RNN: causality and chunked (streaming) evaluation.

Causality: output at step t does not depend on inputs after t (for one-layer
bidirectional RNNs the forward half is causal and the reverse half anti-causal; deeper
bidirectional RNNs mix both directions and are exempt). Streaming: running the
chunks of a sequence one after another, each starting from the previous call's h_n,
equals running it whole. Both compare two runs of the target at twice the bound.
"""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from rnn_conformance.generation.strategies import (
    batch_sizes,
    rnn_cases,
    rnn_configs,
    round_to_dtype,
    sequence_lengths,
)
from rnn_conformance.harness import (
    TargetRun,
    assert_runs_agree,
    build_module,
    observe,
    output_axes,
    precision_for,
    run_reference,
    run_target,
    time_axis,
)
from rnn_conformance.numerics.tolerances import assert_within

long_enough = sequence_lengths(min_len=2, max_len=40)
# A second bidirectional layer mixes both directions, so neither half is causal there:
# one layer in either direction, or several forwards only.
causal_configs = rnn_configs(max_layers=1) | rnn_configs(min_layers=2, bidirectional=False)


def _steps(case, steps):
    index = [slice(None)] * case.input.ndim
    index[time_axis(case)] = steps
    return tuple(index)


@given(
    case=rnn_cases(
        configs=causal_configs, seq_lens=long_enough, batches=batch_sizes(allow_empty=False)
    ),
    data=st.data(),
)
def test_outputs_do_not_depend_on_the_future(subject, case, data):
    observe(subject, case)
    cut = data.draw(st.integers(1, case.seq_len - 1), label="first changed step")
    hidden = case.config.output_size
    module = build_module(subject, case)
    run = run_target(subject, case, module=module)
    bounds = run_reference(case, precision_for(subject, case)).bounds.output
    checks = [(slice(None, cut), slice(cut, None), slice(0, hidden), "forward outputs before")]
    if case.config.bidirectional:
        checks.append(
            (slice(cut, None), slice(None, cut), slice(hidden, None), "reverse outputs from")
        )
    for kept, changed, units, what in checks:
        altered = case.input.copy()
        altered[_steps(case, changed)] = round_to_dtype(
            0.5 - altered[_steps(case, changed)], case.dtype
        )
        other = run_target(subject, case.with_(input=altered), module=module)
        region = (*_steps(case, kept)[:-1], units)
        assert_within(
            other.output[region],
            run.output[region],
            bounds[region],
            factor=2.0,
            what=f"{what} step {cut}",
            axes=output_axes(case),
            context=f"{what} step {cut} changed when only inputs on the other side of it "
            f"changed (causality)\n  {case.describe()}",
        )


@given(
    case=rnn_cases(
        configs=rnn_configs(bidirectional=False),
        seq_lens=long_enough,
        batches=batch_sizes(allow_empty=False),
    ),
    data=st.data(),
)
def test_chunked_evaluation_equals_whole_sequence(subject, case, data):
    observe(subject, case)
    cuts = sorted(
        data.draw(
            st.sets(st.integers(1, case.seq_len - 1), min_size=1, max_size=4),
            label="chunk boundaries",
        )
    )
    axis = time_axis(case)
    module = build_module(subject, case)
    whole = run_target(subject, case, module=module)
    hx, outputs = case.hx, []
    for start, stop in zip([0, *cuts], [*cuts, case.seq_len], strict=True):
        chunk = np.take(case.input, range(start, stop), axis=axis)
        part = run_target(
            subject, case.with_(input=chunk, seq_len=stop - start, hx=hx), module=module
        )
        outputs.append(part.output)
        hx = part.h_n
    streamed = TargetRun(
        np.concatenate(outputs, axis=axis), hx, whole.output_tensor, whole.h_n_tensor
    )
    assert_runs_agree(
        subject,
        case,
        streamed,
        whole,
        claim=f"running chunks split at steps {cuts} with carried h_n equals one call",
    )
