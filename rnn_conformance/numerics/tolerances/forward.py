"""Per-element error bounds on a target's ``output`` and ``h_n``.

The reference's own layer loop is run again in the probe arithmetic
(:mod:`rnn_conformance.numerics.tolerances.rounding`), on the same weights, input and initial
state, so the bound follows the family's every pre-activation, gate and product through
the actual weights and states of this call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from rnn_conformance.numerics.arithmetic import Array
from rnn_conformance.numerics.layouts import from_time_major, pack_state
from rnn_conformance.numerics.reference import (
    DirectionTrace,
    ForwardTrace,
    direction_weights,
    run_layers,
)
from rnn_conformance.numerics.tolerances.precision import Precision
from rnn_conformance.numerics.tolerances.rounding import ProbeArithmetic, spread_bound

__all__ = ["ForwardBounds", "forward_error_bounds", "probe_forward"]


@dataclass(frozen=True)
class ForwardBounds:
    """Per-element error bounds shaped like the module's ``output`` and ``h_n``.

    ``h_n`` is a tuple for a family whose state has several parts. ``layers`` is the
    probed forward computation, which the gradient bounds continue from in ``precision``.
    """

    output: Array
    h_n: Any
    layers: list[list[DirectionTrace]]
    precision: Precision


def probe_forward(trace: ForwardTrace, ops: ProbeArithmetic) -> list[list[DirectionTrace]]:
    """The trace's computation again, in the probe arithmetic ``ops``."""
    config = trace.config
    initial = [tuple(ops.exact(part) for part in parts) for parts in trace.initial]
    _, _, layers = run_layers(
        ops,
        config,
        ops.exact(trace.input),
        initial,
        lambda k, d: direction_weights(config, trace.params, k, d),
    )
    return layers


def forward_error_bounds(
    trace: ForwardTrace,
    precision: Precision,
    *,
    batched: bool | None = None,
    batch_first: bool | None = None,
) -> ForwardBounds:
    """Bounds for ``output`` and ``h_n`` in the module's layout for the traced call.

    ``trace`` comes from :func:`rnn_conformance.numerics.reference.forward_trace` (or
    ``elman_forward_trace``), which also fixes the layout (``batched`` and ``batch_first``
    are accepted for compatibility and must agree with it). The result is the *unscaled*
    bound; :func:`~rnn_conformance.numerics.tolerances.assert_within` applies ``SAFETY``.
    Deterministic: the probes' signs come from a fixed seed.
    """
    config = trace.config
    if batched not in (None, trace.batched) or batch_first not in (None, config.batch_first):
        raise ValueError("batched and batch_first must match the trace's own layout")
    ops = ProbeArithmetic(precision, seed=0)
    layers = probe_forward(trace, ops)
    # Each direction's bound floors its elements by their mean over the direction's units.
    top = [spread_bound(run.outputs, axis=-1) for run in layers[-1]]
    output = np.concatenate([b[::-1] if d else b for d, b in enumerate(top)], axis=-1)
    parts = [
        np.stack(
            [
                spread_bound(ops.rounded(run.states[-1][part]), axis=-1)
                for runs in layers
                for run in runs
            ]
        )
        for part in range(len(config.state_sizes))
    ]
    return ForwardBounds(
        from_time_major(output, batched=trace.batched, batch_first=config.batch_first),
        pack_state(config, [h if trace.batched else h[:, 0] for h in parts]),
        layers,
        precision,
    )
