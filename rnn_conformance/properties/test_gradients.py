"""Gradients through the target's autograd equal hand-written BPTT in the reference.

For a random linear functional ``sum(g_out * output) + sum(g_h * h_n)`` (``g_out``
and ``g_h`` drawn like inputs, exact in the target dtype), the gradients with respect
to input, hx and every parameter must match ``rnn_conformance.numerics.backprop`` within
SAFETY x the gradient bound of ``rnn_conformance.numerics.tolerances`` (rounding and forward
errors propagated backwards; a relu derivative may flip only where the pre-activation is
within its error bound of zero). ``torch.autograd.gradcheck`` must also pass in float64
on small cases, comparing the target's analytic gradients with its own finite
differences (tanh only: relu's kinks make finite differences unreliable).
"""

import pytest
import torch
from hypothesis import given, target
from hypothesis import strategies as st
from torch.autograd.gradcheck import GradcheckError  # torch.autograd.gradcheck is the function

from rnn_conformance.generation.drawing import current_family
from rnn_conformance.generation.strategies import (
    batch_sizes,
    float_arrays,
    rnn_cases,
    rnn_configs,
    sequence_lengths,
)
from rnn_conformance.harness import (
    build_module,
    case_tensors,
    hidden_axes,
    observe,
    output_axes,
    precision_for,
    reference_gradients,
    run_target_gradients,
)
from rnn_conformance.numerics.layouts import pack_state
from rnn_conformance.numerics.tolerances import assert_within, leaves

non_empty = batch_sizes(allow_empty=False)


def _gradient_axes(case, name, values):
    if name == "input":
        return (*output_axes(case)[:-1], "feature")
    if name.startswith("hx"):
        return hidden_axes(case)
    return ("row", "column")[: values.ndim]


@pytest.mark.rnn_requires("autograd")
@given(case=rnn_cases(batches=non_empty), data=st.data())
def test_gradients_match_reference_bptt(subject, case, data):
    device = subject.device
    observe(subject, case)
    grad_output = data.draw(
        float_arrays(case.config.output_shape(case.seq_len, case.batch_size), dtype=case.dtype),
        label="grad_output",
    )
    state = case.config.state_shapes(case.batch_size)
    grads = [data.draw(float_arrays(shape, dtype=case.dtype), label="grad_h_n") for shape in state]
    grad_h_n = pack_state(case.config, grads)
    actual = run_target_gradients(subject, case, grad_output, grad_h_n)
    precision = precision_for(subject, case)
    expected, bounds = reference_gradients(case, precision, grad_output, grad_h_n)
    context = (
        f"gradient from {subject.target.spec}'s autograd on {device} differs from the "
        f"reference's backpropagation through time ({precision.label}; see "
        f"rnn_conformance.numerics.tolerances.gradients_and_error_bounds)\n  {case.describe()}"
    )
    worst = 0.0
    for name, value in expected.items():
        worst = max(
            worst,
            assert_within(
                actual[name],
                value,
                bounds[name],
                what=f"d/d {name}",
                axes=_gradient_axes(case, name, value),
                context=context,
            ),
        )
    target(worst, label="gradient error / allowed")


# gradcheck differentiates numerically once per input and parameter element, so its cost
# grows with the gate rows: sizes are capped at 8 gate rows (4 for nn.RNN, 2 for nn.LSTM
# and nn.GRU), which still reaches every gate, a projection and two layers; the reference
# BPTT property checks the same gradients at full sizes.
@st.composite
def small_smooth_configs(draw):
    """At most 8 gate rows of the subject's family, never its relu mode (relu's kinks)."""
    small = min(4, 8 // current_family().gates)
    return draw(rnn_configs(max_input_size=small, max_hidden_size=small, max_layers=2, relu=False))


@pytest.mark.rnn_requires("autograd", "float64")
@given(
    case=rnn_cases(
        configs=small_smooth_configs(),
        dtypes=("float64",),
        seq_lens=sequence_lengths(max_len=5, typical=3),
        batches=batch_sizes(max_size=3, allow_empty=False),
    )
)
def test_gradcheck_passes_in_float64(subject, case):
    device = subject.device
    observe(subject, case)
    module = build_module(subject, case)
    names = [name for name, _ in module.named_parameters()]
    x, hx = case_tensors(case, device)
    state = [] if hx is None else [part for _, part in leaves(hx, "hx")]
    inputs = [t.requires_grad_() for t in (x, *state)]
    params = [p.detach().clone().requires_grad_() for p in module.parameters()]

    def forward(x, *rest):
        parts, weights = rest[: len(state)], dict(zip(names, rest[len(state) :], strict=True))
        args = (x,) if hx is None else (x, pack_state(case.config, list(parts)))
        output, h_n = subject.target.forward_with(module, weights, *args)
        return (output, *(part for _, part in leaves(h_n, "h_n")))

    try:
        torch.autograd.gradcheck(forward, (*inputs, *params))
    except GradcheckError as exc:
        raise AssertionError(
            f"torch.autograd.gradcheck failed for {subject.target.spec} on {device}: analytic "
            f"gradients differ from finite differences\n  {case.describe()}\n{exc}"
        ) from None
