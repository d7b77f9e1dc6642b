"""Where nn.RNN's output and h_n hold the same numbers, bit for bit.

Unidirectional: the last step of ``output`` is the last layer's ``h_n``. Bidirectional:
the forward half of ``output`` at the last step is the last layer's forward ``h_n`` and
the reverse half at step 0 (not the last step) is its reverse ``h_n`` (PyTorch #3587).
Both are copies of one computed state, so no tolerance applies.
"""

import pytest
from hypothesis import given

from rnn_conformance.generation.strategies import rnn_cases, rnn_configs
from rnn_conformance.harness import hidden_axes, observe, output_at_step, run_target
from rnn_conformance.numerics.layouts import output_part
from rnn_conformance.numerics.tolerances import assert_identical


def _unit_axes(case):
    return hidden_axes(case)[1:]


@given(case=rnn_cases(configs=rnn_configs(bidirectional=False)))
def test_unidirectional_last_output_is_last_layer_h_n(subject, case):
    observe(subject, case)
    run = run_target(subject, case)
    assert_identical(
        output_at_step(case, run.output, -1),
        output_part(run.h_n)[-1],
        what="output at the last step vs h_n[-1]",
        axes=_unit_axes(case),
        context=f"output[-1] != h_n[-1] (layout-aware)\n  {case.describe()}",
    )


@pytest.mark.rnn_requires("bidirectional")
@given(case=rnn_cases(configs=rnn_configs(bidirectional=True)))
def test_bidirectional_output_ends_are_last_layer_h_n(subject, case):
    observe(subject, case)
    run = run_target(subject, case)
    hidden = case.config.output_size
    assert_identical(
        output_at_step(case, run.output, -1)[..., :hidden],
        output_part(run.h_n)[-2],
        what="forward half of output at the last step vs h_n[-2]",
        axes=_unit_axes(case),
        context=f"forward direction's final state is not at output[-1]\n  {case.describe()}",
    )
    assert_identical(
        output_at_step(case, run.output, 0)[..., hidden:],
        output_part(run.h_n)[-1],
        what="reverse half of output at step 0 vs h_n[-1]",
        axes=_unit_axes(case),
        context=f"reverse direction's final state is not at output[0]\n  {case.describe()}",
    )
