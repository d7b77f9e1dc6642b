"""What the reference says a case's results are, and comparing the target's with them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rnn_conformance.generation.cases import RNNCase
from rnn_conformance.harness.axes import hidden_axes, output_axes
from rnn_conformance.harness.calls import TargetRun
from rnn_conformance.harness.subject import Subject
from rnn_conformance.numerics.arithmetic import Array
from rnn_conformance.numerics.reference import ForwardTrace, forward_trace
from rnn_conformance.numerics.tolerances import (
    ForwardBounds,
    Precision,
    assert_within,
    forward_error_bounds,
)

__all__ = [
    "Expected",
    "assert_runs_agree",
    "compare_with_reference",
    "precision_for",
    "reference_trace",
    "run_reference",
]


@dataclass(frozen=True)
class Expected:
    """The reference's ``(output, h_n)`` for a case and their error bounds."""

    output: Array
    h_n: Any
    bounds: ForwardBounds


def precision_for(subject: Subject, case: RNNCase, *, cell: bool = False) -> Precision:
    """The rounding the tolerance policy assumes for this case on this device.

    ``cell=True`` uses the cell target's declared accuracy instead of the module target's.
    """
    device = subject.device
    declared = subject.cell_activation_error if cell else subject.activation_error
    return Precision.of(case.dtype, tf32=subject.tf32.widens(device), activation_error=declared)


def reference_trace(case: RNNCase) -> tuple[Array, Any, ForwardTrace]:
    """The reference's ``(output, h_n, trace)`` for the case."""
    return forward_trace(case.config, case.input, case.params, case.hx)


def run_reference(case: RNNCase, precision: Precision) -> Expected:
    """Run the NumPy reference on the case and compute the error bounds for ``precision``."""
    output, h_n, trace = reference_trace(case)
    return Expected(output, h_n, forward_error_bounds(trace, precision))


def compare_with_reference(subject: Subject, case: RNNCase, run: TargetRun) -> float:
    """Assert the run matches the reference within the policy; return the worst ratio."""
    device = subject.device
    __tracebackhide__ = True
    precision = precision_for(subject, case)
    expected = run_reference(case, precision)
    context = (
        f"{subject.target.spec} on {device} differs from the float64 reference by more than "
        f"the tolerance policy allows ({precision.label}; "
        "see rnn_conformance.numerics.tolerances)\n"
        f"  {case.describe()}"
    )
    return _assert_output_and_h_n(case, run, expected, expected.bounds, 1.0, context)


def assert_runs_agree(
    subject: Subject,
    case: RNNCase,
    first: TargetRun,
    second: TargetRun,
    *,
    claim: str,
) -> float:
    """Assert two runs of the target on equivalent calls agree within twice the bound.

    Both runs must be in ``case``'s layout. Each is within one bound of the exact
    result, hence the factor 2 (see rnn_conformance.numerics.tolerances).
    """
    device = subject.device
    __tracebackhide__ = True
    expected = run_reference(case, precision_for(subject, case))
    context = f"{claim} does not hold for {subject.target.spec} on {device}\n  {case.describe()}"
    return _assert_output_and_h_n(case, first, second, expected.bounds, 2.0, context)


def _assert_output_and_h_n(
    case: RNNCase,
    actual: TargetRun,
    expected: TargetRun | Expected,
    bounds: ForwardBounds,
    factor: float,
    context: str,
) -> float:
    """Compare output and h_n (each part of it) under the policy; return the worst ratio."""
    __tracebackhide__ = True
    axes = {"output": output_axes(case), "h_n": hidden_axes(case)}
    return max(
        assert_within(
            getattr(actual, name),
            getattr(expected, name),
            getattr(bounds, name),
            what=name,
            axes=axes[name],
            factor=factor,
            context=context,
        )
        for name in ("output", "h_n")
    )
