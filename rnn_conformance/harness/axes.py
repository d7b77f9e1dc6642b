"""Naming and slicing the axes of a case's input, output, state and parameters."""

from __future__ import annotations

import numpy as np

from rnn_conformance.generation.cases import RNNCase
from rnn_conformance.numerics.arithmetic import Array
from rnn_conformance.numerics.config import RNNConfig
from rnn_conformance.numerics.parameters import rename_layer

__all__ = [
    "batch_axis",
    "hidden_axes",
    "layer_params",
    "output_at_step",
    "output_axes",
    "time_axis",
]

OUTPUT_AXES = {
    (True, False): ("step", "batch", "unit"),
    (True, True): ("batch", "step", "unit"),
    (False, False): ("step", "unit"),
    (False, True): ("step", "unit"),
}
HIDDEN_AXES = {True: ("layer*direction", "batch", "unit"), False: ("layer*direction", "unit")}


def output_axes(case: RNNCase) -> tuple[str, ...]:
    """Names of ``output``'s axes for this case's layout, for mismatch reports."""
    return OUTPUT_AXES[(case.batched, case.config.batch_first)]


def hidden_axes(case: RNNCase) -> tuple[str, ...]:
    """Names of the axes of ``h_n`` (and of each part of a tuple ``h_n``)."""
    return HIDDEN_AXES[case.batched]


def time_axis(case: RNNCase) -> int:
    """The axis of the case's ``input`` and ``output`` that indexes time."""
    return 1 if (case.batched and case.config.batch_first) else 0


def batch_axis(config: RNNConfig) -> int:
    """The axis of a batched ``input`` or ``output`` that indexes the batch (h_n's is 1)."""
    return 0 if config.batch_first else 1


def output_at_step(case: RNNCase, output: Array, step: int) -> Array:
    """``output`` at time ``step`` for every batch element: (N, D*H), or (D*H,) unbatched."""
    return np.take(output, step, axis=time_axis(case))


def layer_params(
    params: dict[str, Array],
    layer: int,
    *,
    directions: tuple[int, ...] = (0, 1),
    as_direction: int | None = None,
) -> dict[str, Array]:
    """One layer's parameters (of the given directions) renamed as a one-layer module's.

    ``as_direction=0`` names one direction's parameters as a unidirectional module's.
    """
    renamed = {}
    for name, value in params.items():
        moved = rename_layer(name, directions=directions, to_direction=as_direction)
        if moved is not None and moved[1] == layer:
            renamed[moved[0]] = value
    return renamed
