"""The target's output and h_n equal the float64 NumPy reference within the tolerance policy.

This is the numerical heart of the subject: every knob (tanh/relu, layers, bias,
bidirectional, batch_first, unbatched, hx or not, float32/float64, non-contiguous
input and hx) against an independent implementation of nn.RNN's recurrence, plus the
pinned cases of :mod:`rnn_conformance.generation.known_cases` (tutorial numbers, empty batch, one
step, 96 steps, 72 hidden units, float64), each its own test.
Tolerance: SAFETY x the first-order error bound of rnn_conformance.numerics.tolerances.
"""

import pytest
from hypothesis import given, target

from rnn_conformance.generation.capabilities import skip_reason
from rnn_conformance.generation.known_cases import known_cases
from rnn_conformance.generation.strategies import memory_layouts, rnn_cases
from rnn_conformance.harness import (
    compare_with_reference,
    missing_capabilities,
    observe,
    run_target,
)
from rnn_conformance.running.hooks.subjects import per_subject


# No @example here: Hypothesis runs explicit examples first and stops at the first that
# fails, so a pinned case would be reported unshrunk in place of a minimal one.
@given(case=rnn_cases(layouts=memory_layouts()))
def test_output_and_h_n_match_reference(subject, case):
    observe(subject, case)
    run = run_target(subject, case)
    target(compare_with_reference(subject, case, run), label="error / allowed error")


def _pinned(subject):
    """The pinned cases of the subject's family, by name."""
    return [pytest.param(name, id=name) for name in known_cases(subject.family)]


@per_subject("name", _pinned)
def test_known_cases_match_reference(subject, name):
    case = known_cases(subject.family)[name]()
    # A drawn case never needs a declared gap; a pinned one that does skips, naming it.
    missing = missing_capabilities(case, subject.unsupported)
    if missing:
        pytest.skip(skip_reason(missing))
    run = run_target(subject, case)
    compare_with_reference(subject, case, run)
