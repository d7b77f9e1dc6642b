"""Reusing the suite's strategies, reference and tolerance policy in your own tests.

No plugin options needed: draw complete cases with ``rnn_cases``, turn them into tensors
with ``case_tensors``, run your code and the NumPy reference, and compare under the
shared tolerance policy. Here "your code" is the pure-PyTorch ``LoopRNN`` of
``pure_torch_rnn.py``; swap in your own. docs/reusing.md shows this file's code verbatim
(tests/test_examples.py keeps the two identical).
"""

import torch
from hypothesis import given, settings

from examples.pure_torch_rnn import LoopRNN
from rnn_conformance.generation.strategies import batch_sizes, rnn_cases, rnn_configs
from rnn_conformance.harness import case_tensors, hidden_axes, output_axes
from rnn_conformance.numerics.reference import forward_trace
from rnn_conformance.numerics.tolerances import Precision, assert_within, forward_error_bounds


@settings(max_examples=25, deadline=None)
@given(
    case=rnn_cases(
        configs=rnn_configs(max_hidden_size=16, relu=False),
        batches=batch_sizes(allow_empty=False),
    )
)
def test_loop_rnn_matches_reference(case):
    # Your RNN, built for the drawn configuration and loaded with the drawn weights.
    dtype = getattr(torch, case.dtype)
    module = LoopRNN(**case.config.constructor_kwargs(), dtype=dtype).eval()
    module.load_state_dict({k: torch.tensor(v, dtype=dtype) for k, v in case.params.items()})
    x, hx = case_tensors(case, "cpu")  # hx is None when the case calls without h_0
    with torch.no_grad():
        output, h_n = module(x, hx)

    # The float64 reference on the same numbers, and the error each element may have.
    expected, expected_h_n, trace = forward_trace(case.config, case.input, case.params, case.hx)
    bounds = forward_error_bounds(trace, Precision.of(case.dtype))
    context = f"LoopRNN differs from the float64 reference\n  {case.describe()}"
    assert_within(
        output.double().numpy(),
        expected,
        bounds.output,
        what="output",
        axes=output_axes(case),  # names the axes in a failure: (step=3, batch=0, unit=5)
        context=context,
    )
    assert_within(
        h_n.double().numpy(),
        expected_h_n,
        bounds.h_n,
        what="h_n",
        axes=hidden_axes(case),
        context=context,
    )
