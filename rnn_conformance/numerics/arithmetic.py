"""The arithmetic a family's cell step is written in, so that one step serves three purposes.

A family writes its step and its backward step once, as calls on an ``ops`` object
(:class:`Arithmetic`). Run with :data:`EXACT` (plain float64 NumPy) the step is the
reference; run with the tolerance policy's probe arithmetic
(:class:`rnn_conformance.numerics.tolerances.rounding.ProbeArithmetic`) the same code also carries
each value's first-order rounding error, which is how the error bound sees every
pre-activation, gate nonlinearity and elementwise product of every family without a
family-specific error model.

Values are arrays whose last axis is features; sequences have the step axis first, as
(L, N, F). ``linear(x, w, b)`` is ``x @ w.T + b``.

>>> import numpy as np
>>> EXACT.tanh(EXACT.add(EXACT.linear(np.ones((1, 2)), np.eye(2)), np.zeros((1, 2))))
array([[0.76159416, 0.76159416]])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "EXACT",
    "Arithmetic",
    "Array",
    "ExactArithmetic",
]

Array = NDArray[np.float64]


class Arithmetic(Protocol):
    """The operations a cell step may use, on whatever values the arithmetic has."""

    def linear(self, x: Any, weight: Array, bias: Array | None = None) -> Any:
        """``x @ weight.T + bias``: one dot product of ``weight.shape[1]`` (+1) terms each."""

    def add(self, a: Any, b: Any) -> Any:
        """``a + b``. Two pending dot products add into one longer dot product."""

    def sub(self, a: Any, b: Any) -> Any:
        """``a - b``."""

    def mul(self, a: Any, b: Any) -> Any:
        """Elementwise ``a * b``."""

    def one_minus(self, a: Any) -> Any:
        """``1 - a``."""

    def tanh(self, a: Any) -> Any:
        """Elementwise tanh."""

    def sigmoid(self, a: Any) -> Any:
        """Elementwise logistic sigmoid."""

    def relu(self, a: Any) -> Any:
        """Elementwise ``max(a, 0)``."""

    def relu_slope(self, a: Any) -> Any:
        """The derivative of relu at ``a``: 1 where ``a > 0``, else 0."""

    def chunk(self, a: Any, pieces: int) -> list[Any]:
        """Split the feature axis into ``pieces`` equal parts (the gates)."""

    def cat(self, parts: Sequence[Any]) -> Any:
        """Concatenate along the feature axis."""

    def at(self, sequence: Any, step: int) -> Any:
        """Step ``step`` of a sequence (L, N, F)."""

    def stack(self, steps: Sequence[Any]) -> Any:
        """Stack steps (N, F) into a sequence (L, N, F)."""

    def flip(self, sequence: Any) -> Any:
        """A sequence reversed in time."""

    def carried(self, value: Any) -> Any:
        """``value`` as it enters the next step or layer (the probe arithmetic restarts there)."""

    def summed_outer(self, a: Any, b: Any) -> Any:
        """``sum over steps and batch of a_t.T @ b_t``: a weight's gradient, (F_a, F_b)."""

    def summed(self, a: Any) -> Any:
        """``a`` summed over steps and batch: a bias's gradient, (F,)."""

    def zeros_like(self, a: Any) -> Any:
        """Zeros shaped like ``a``."""


class ExactArithmetic:
    """Float64 NumPy: the reference's own arithmetic."""

    def linear(self, x: Array, weight: Array, bias: Array | None = None) -> Array:
        """``x @ weight.T + bias``."""
        out = x @ weight.T
        return out if bias is None else out + bias

    def add(self, a: Array, b: Array) -> Array:
        """``a + b``."""
        return a + b

    def sub(self, a: Array, b: Array) -> Array:
        """``a - b``."""
        return a - b

    def mul(self, a: Array, b: Array) -> Array:
        """``a * b``."""
        return a * b

    def one_minus(self, a: Array) -> Array:
        """``1 - a``."""
        return 1.0 - a

    def tanh(self, a: Array) -> Array:
        """``tanh(a)``."""
        return np.tanh(a)

    def sigmoid(self, a: Array) -> Array:
        """``1 / (1 + exp(-a))``."""
        # Written so that neither branch overflows: exp of a non-positive number only.
        e = np.exp(-np.abs(a))
        return np.where(a >= 0, 1.0 / (1.0 + e), e / (1.0 + e))

    def relu(self, a: Array) -> Array:
        """``max(a, 0)``."""
        return np.maximum(a, 0.0)

    def relu_slope(self, a: Array) -> Array:
        """1.0 where ``a > 0``, else 0.0."""
        return (a > 0).astype(np.float64)

    def chunk(self, a: Array, pieces: int) -> list[Array]:
        """Equal parts of the feature axis."""
        return np.split(a, pieces, axis=-1)

    def cat(self, parts: Sequence[Array]) -> Array:
        """Concatenation along the feature axis."""
        return np.concatenate(parts, axis=-1)

    def at(self, sequence: Array, step: int) -> Array:
        """``sequence[step]``."""
        return sequence[step]

    def stack(self, steps: Sequence[Array]) -> Array:
        """The steps stacked on a new first axis."""
        return np.stack(steps)

    def flip(self, sequence: Array) -> Array:
        """``sequence[::-1]``."""
        return sequence[::-1]

    def carried(self, value: Array) -> Array:
        """The value itself."""
        return value

    def summed_outer(self, a: Array, b: Array) -> Array:
        """The sum over steps and batch of ``a_t.T @ b_t``."""
        # One matrix product over the flattened steps and batch (much faster than einsum).
        return a.reshape(-1, a.shape[-1]).T @ b.reshape(-1, b.shape[-1])

    def summed(self, a: Array) -> Array:
        """``a`` summed over steps and batch."""
        return a.sum(axis=(0, 1))

    def zeros_like(self, a: Array) -> Array:
        """Zeros shaped like ``a``."""
        return np.zeros_like(a)


EXACT = ExactArithmetic()
"""The float64 arithmetic of the reference."""
