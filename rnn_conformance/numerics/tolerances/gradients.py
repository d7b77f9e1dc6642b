"""Per-element error bounds on a target's gradients.

The reference's backward pass (:func:`rnn_conformance.numerics.backprop.backward_layers`) is run in
the probe arithmetic, continuing from the probed forward computation: the target's forward
errors enter every derivative and weight gradient where the exact values do (for relu, a
derivative flips wherever the pre-activation is within its error bound of zero), and every
backward product, sum and reduction adds its own rounding. Each gradient element's bound is
its probes' spread, plus that spread's mean over the tensor, plus its local error.
"""

from __future__ import annotations

from typing import Any

from rnn_conformance.numerics.backprop import Gradients, assemble, backward_layers, time_major_seeds
from rnn_conformance.numerics.reference import ForwardTrace
from rnn_conformance.numerics.tolerances.forward import ForwardBounds
from rnn_conformance.numerics.tolerances.rounding import ProbeArithmetic, Probed, spread_bound

__all__ = ["gradients_and_error_bounds"]


def gradients_and_error_bounds(
    trace: ForwardTrace, bounds: ForwardBounds, grad_output: Any, grad_h_n: Any
) -> tuple[Gradients, Gradients]:
    """The exact gradients and per-element bounds on the target's, both as :class:`Gradients`.

    ``bounds`` are :func:`~rnn_conformance.numerics.tolerances.forward_error_bounds` of the same
    trace; the seeds are in the module's layout (``grad_h_n`` a tuple for several parts).
    """
    # Its own generator: the same bounds however often, and after whatever, it is called.
    ops = ProbeArithmetic(bounds.precision, seed=1)
    top, finals = time_major_seeds(trace, grad_output, grad_h_n)
    d_input, d_initial, params = backward_layers(
        ops,
        trace.config,
        bounds.layers,
        ops.exact(top),
        [tuple(ops.exact(part) for part in parts) for parts in finals],
    )

    def values(p: Probed) -> Any:
        return ops.rounded(p).value

    def bound(p: Probed) -> Any:
        return spread_bound(ops.rounded(p), axis=None)

    results = []
    for extract in (values, bound):
        results.append(
            assemble(
                trace,
                extract(d_input),
                [tuple(extract(part) for part in parts) for parts in d_initial],
                {name: extract(grad) for name, grad in params.items()},
            )
        )
    return results[0], results[1]
