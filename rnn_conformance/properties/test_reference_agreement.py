"""The target's output and h_n equal the float64 NumPy reference within the tolerance policy.

This is the numerical heart of the suite: every knob (tanh/relu, layers, bias,
bidirectional, batch_first, unbatched, hx or not, float32/float64, non-contiguous
input and hx) against an independent implementation of nn.RNN's recurrence, plus
pinned edge cases: empty batch, one step, 96 steps, 72 hidden units, float64.
Tolerance: SAFETY x the first-order error bound of rnn_conformance.tolerances.
"""

from hypothesis import example, given, target

from rnn_conformance.harness import compare_with_reference, observe, run_target
from rnn_conformance.known_cases import (
    EDGE_CASES,
    bidirectional_tutorial_case,
    bidirectional_two_layer_batch_first_with_hx,
    stacked_tutorial_case,
)
from rnn_conformance.strategies import memory_layouts, rnn_cases


@given(case=rnn_cases(layouts=memory_layouts()))
@example(case=stacked_tutorial_case())
@example(case=bidirectional_tutorial_case())
@example(case=bidirectional_two_layer_batch_first_with_hx())
@example(case=EDGE_CASES["empty batch"]())
@example(case=EDGE_CASES["one step"]())
@example(case=EDGE_CASES["long sequence"]())
@example(case=EDGE_CASES["wide hidden state"]())
@example(case=EDGE_CASES["float64"]())
def test_output_and_h_n_match_reference(suite, device, case):
    observe(suite, case, device)
    run = run_target(suite, case, device)
    target(compare_with_reference(suite, case, device, run), label="error / allowed error")
