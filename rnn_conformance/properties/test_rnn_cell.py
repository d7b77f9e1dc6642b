"""The cell target (``--rnn-cell-impl``, default nn.RNNCell) conforms to the reference.

One step ``h' = f(x @ W_ih.T + b_ih + h @ W_hh.T + b_hh)`` for batched (N, H_in) and
unbatched (H_in,) input, with and without ``hx``; parameter names and shapes as
nn.RNNCell's. Tolerance: the forward policy for a one-step, one-layer RNN, with the
cell target's own declared gaps and accuracy (not the module target's).
"""

from hypothesis import given

from rnn_conformance.generation.strategies import rnn_cases, rnn_configs, sequence_lengths
from rnn_conformance.harness import (
    build_cell,
    hidden_axes,
    observe,
    precision_for,
    run_cell_target,
    run_reference,
)
from rnn_conformance.numerics.layouts import map_state
from rnn_conformance.numerics.tolerances import assert_within

one_step_cases = rnn_cases(
    # The family's cell has no projection (nn.LSTMCell takes no proj_size).
    configs=rnn_configs(
        max_layers=1, bidirectional=False, batch_first=False, projections=False, uses="cell"
    ),
    seq_lens=sequence_lengths(max_len=1),
    uses="cell",
)


@given(case=one_step_cases)
def test_rnn_cell_matches_reference(subject, case):
    device = subject.device
    observe(subject, case, uses="cell")
    module = build_cell(subject, case)
    names = [name for name, _ in module.named_parameters()]
    wanted = list(case.config.family.direction_parameters(case.config, 0))
    assert names == wanted, f"{subject.cell_target.spec} parameters {names}, expected {wanted}"
    h = map_state(lambda h: h[0], case.hx)
    actual = run_cell_target(subject, case, case.input[0], h, module=module)
    # A one-step, one-layer RNN is exactly one cell step: use its reference and bound.
    expected = run_reference(case, precision_for(subject, case, cell=True))
    assert_within(
        actual,
        map_state(lambda h: h[0], expected.h_n),
        map_state(lambda h: h[0], expected.bounds.h_n),
        what="h'",
        axes=hidden_axes(case)[1:],
        context=f"{subject.cell_target.spec} on {device} differs from the reference cell step\n"
        f"  {case.describe()}",
    )
