"""The local rounding model: an arithmetic whose values carry their first-order errors.

:class:`ProbeArithmetic` implements :class:`rnn_conformance.numerics.arithmetic.Arithmetic`, so a
family's step and backward step, and the shared layer loops, run in it unchanged. Each
value (:class:`Probed`) holds the exact float64 result, ``PROBES`` samples of the error a
target's rounding may have put into it, and ``local``, the deterministic bound of the error
made since the value's step began. Each operation propagates its operands' errors through
its derivative (the linearised computation) and adds its own rounding at its worst-case
magnitude:

* a dot product of ``n`` terms (a gate pre-activation: products and biases, in any order,
  with or without FMA): ``n * (u * sum |terms| + tiny)``, Higham's gamma_n. Two dot
  products that are added (``W_ih x + b_ih + W_hh h + b_hh``) count as one of
  ``n_1 + n_2`` terms, since a kernel may interleave them;
* an elementwise sum, product or ``1 - x``: ``u * |result|`` (plus ``tiny`` for products);
* tanh and sigmoid: ``2 * u * |result| + tiny`` (within an ulp in torch and NumPy), plus a
  target's declared absolute activation error; relu: nothing, but a pre-activation within its own
  error bound of zero may have the other sign, so it counts as active;
* a reduction over steps and batch (a weight's gradient): ``terms * (u * sum |terms| +
  tiny)``, deterministic.

``tiny`` is the dtype's smallest normal number (gradual underflow, or kernels that flush
subnormals). Random probes draw each rounding's sign at random; probe 0 gives every error
the sign of its value, as a kernel whose rounding is biased would (such errors add up
linearly over steps, not like a random walk). The signs come from a seeded generator, so
bounds are deterministic.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from rnn_conformance.numerics.arithmetic import Array
from rnn_conformance.numerics.tolerances.precision import PROBES, SAFETY, Precision

__all__ = ["ProbeArithmetic", "Probed", "probe_spread", "spread_bound"]


def probe_spread(probes: Array) -> Array:
    """The typical size of the probes' errors: the random probes' RMS, or the coherent one's."""
    return np.maximum(np.sqrt(np.mean(probes[1:] ** 2, axis=0)), np.abs(probes[0]))


@dataclass(eq=False)
class Probed:
    """An exact value, its error probes (P, *shape) and its one-step local error bound.

    A dot product whose own rounding is not added yet (so that two can add into one
    longer dot product) has ``terms > 0`` and the sum of its terms' magnitudes.
    """

    value: Array
    probes: Array
    local: Array
    terms: int = 0
    magnitude: Array | None = None
    _rounded: Probed | None = None


NO_LOCAL = np.zeros(())
NO_LOCAL.setflags(write=False)
"""The local error of a value carried into a new step: none (a 0-d zero, cheap to propagate)."""


def _full(local: Array, shape: tuple[int, ...]) -> Array:
    return np.broadcast_to(local, shape) if local.ndim == 0 else local


def spread_bound(value: Probed, axis: int | tuple[int, ...] | None) -> Array:
    """An element's bound: its probes' spread, plus that spread's mean, plus its local error.

    The mean over ``axis`` (``None``: the whole tensor) keeps any element's bound from
    being small by chance.
    """
    spread = probe_spread(value.probes)
    if not spread.size:
        return spread
    return spread + spread.mean(axis=axis, keepdims=axis is not None) + value.local


class ProbeArithmetic:
    """:class:`~rnn_conformance.numerics.arithmetic.Arithmetic` that carries rounding errors."""

    def __init__(self, precision: Precision, *, seed: int) -> None:
        self.precision = precision
        self.rng = np.random.default_rng(seed)
        self._signs = np.empty(0)
        self._next = 0

    # -- values ------------------------------------------------------------------------

    def exact(self, value: Any) -> Probed:
        """An input known exactly: no error (and no local error to propagate)."""
        array = np.asarray(value, dtype=np.float64)
        return Probed(array, np.zeros((PROBES, *array.shape)), NO_LOCAL)

    def _random_signs(self, shape: tuple[int, ...]) -> Array:
        # Drawn in blocks: one generator call per step and operation would dominate.
        count = math.prod(shape)
        if self._next + count > self._signs.size:
            self._signs = self.rng.integers(0, 2, size=max(count, 1 << 16)) * 2.0 - 1.0
            self._next = 0
        block = self._signs[self._next : self._next + count]
        self._next += count
        return block.reshape(shape)

    def _signed(self, magnitude: Array, value: Array) -> Array:
        signed = self._random_signs((PROBES, *magnitude.shape)) * magnitude
        signed[0] = np.copysign(magnitude, value)
        return signed

    def _with_rounding(self, value: Array, probes: Array, local: Array, own: Array) -> Probed:
        return Probed(value, probes + self._signed(own, value), local + own)

    def rounded(self, a: Probed) -> Probed:
        """``a`` with a pending dot product's rounding added (once: the same draw each use)."""
        if not a.terms:
            return a
        if a._rounded is None:
            assert a.magnitude is not None
            own = a.terms * (self.precision.matmul * a.magnitude + self.precision.underflow)
            a._rounded = self._with_rounding(a.value, a.probes, a.local, own)
        return a._rounded

    # -- the Arithmetic protocol -------------------------------------------------------

    def linear(self, x: Probed, weight: Array, bias: Array | None = None) -> Probed:
        """A pending dot product of ``weight.shape[1]`` (+1 with a bias) terms."""
        x = self.rounded(x)
        value = x.value @ weight.T
        magnitude = np.abs(x.value) @ np.abs(weight).T
        terms = weight.shape[1]
        if bias is not None:
            value, magnitude, terms = value + bias, magnitude + np.abs(bias), terms + 1
        local = x.local if x.local.ndim == 0 else x.local @ np.abs(weight).T
        return Probed(value, x.probes @ weight.T, local, terms, magnitude)

    def add(self, a: Probed, b: Probed) -> Probed:
        """A sum; two pending dot products become one."""
        if a.terms and b.terms and a._rounded is None and b._rounded is None:
            assert a.magnitude is not None
            assert b.magnitude is not None
            return Probed(
                a.value + b.value,
                a.probes + b.probes,
                a.local + b.local,
                a.terms + b.terms,
                a.magnitude + b.magnitude,
            )
        a, b = self.rounded(a), self.rounded(b)
        value = a.value + b.value
        own = self.precision.elementwise * np.abs(value)
        return self._with_rounding(value, a.probes + b.probes, a.local + b.local, own)

    def sub(self, a: Probed, b: Probed) -> Probed:
        """A difference."""
        a, b = self.rounded(a), self.rounded(b)
        value = a.value - b.value
        own = self.precision.elementwise * np.abs(value)
        return self._with_rounding(value, a.probes - b.probes, a.local + b.local, own)

    def mul(self, a: Probed, b: Probed) -> Probed:
        """An elementwise product: each factor's error times the other factor."""
        a, b = self.rounded(a), self.rounded(b)
        value = a.value * b.value
        own = self.precision.elementwise * np.abs(value) + self.precision.underflow
        probes = a.probes * b.value + a.value * b.probes
        local = np.abs(b.value) * a.local + np.abs(a.value) * b.local
        return self._with_rounding(value, probes, local, own)

    def one_minus(self, a: Probed) -> Probed:
        """``1 - a``."""
        a = self.rounded(a)
        value = 1.0 - a.value
        own = self.precision.elementwise * np.abs(value)
        return self._with_rounding(value, -a.probes, a.local, own)

    def _activation(self, a: Probed, value: Array, slope: Array, absolute: float) -> Probed:
        own = 2 * self.precision.elementwise * np.abs(value) + self.precision.underflow + absolute
        return self._with_rounding(value, slope * a.probes, slope * a.local, own)

    def tanh(self, a: Probed) -> Probed:
        """tanh, with a target's declared absolute activation error."""
        a = self.rounded(a)
        value = np.tanh(a.value)
        return self._activation(a, value, 1.0 - value**2, self.precision.activation_absolute)

    def sigmoid(self, a: Probed) -> Probed:
        """The logistic sigmoid, with a target's declared absolute activation error."""
        a = self.rounded(a)
        e = np.exp(-np.abs(a.value))
        value = np.where(a.value >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
        return self._activation(a, value, value * (1.0 - value), self.precision.activation_absolute)

    def _ambiguous(self, a: Probed) -> tuple[Array, Array]:
        """Where the target's ``a`` may have the other sign, and the probes' spread."""
        spread = probe_spread(a.probes)
        return np.abs(a.value) <= SAFETY * (spread + a.local), spread

    def relu(self, a: Probed) -> Probed:
        """relu; within its error bound of zero the error passes through (counted active)."""
        a = self.rounded(a)
        ambiguous, spread = self._ambiguous(a)
        slope = np.where(ambiguous, 1.0, (a.value > 0).astype(np.float64))
        local = slope * a.local + np.where(ambiguous, spread, 0.0)
        return Probed(np.maximum(a.value, 0.0), slope * a.probes, local)

    def relu_slope(self, a: Probed) -> Probed:
        """Relu's derivative, off by one wherever the pre-activation's sign is ambiguous."""
        a = self.rounded(a)
        ambiguous, _ = self._ambiguous(a)
        value = (a.value > 0).astype(np.float64)
        magnitude = ambiguous.astype(np.float64)
        return Probed(value, self._signed(magnitude, value), magnitude)

    def chunk(self, a: Probed, pieces: int) -> list[Probed]:
        """Equal parts of the feature axis."""
        a = self.rounded(a)
        return [
            Probed(v, p, loc)
            for v, p, loc in zip(
                np.split(a.value, pieces, axis=-1),
                np.split(a.probes, pieces, axis=-1),
                np.split(_full(a.local, a.value.shape), pieces, axis=-1),
                strict=True,
            )
        ]

    def cat(self, parts: Sequence[Probed]) -> Probed:
        """Concatenation along the feature axis."""
        rounded = [self.rounded(p) for p in parts]
        return Probed(
            np.concatenate([p.value for p in rounded], axis=-1),
            np.concatenate([p.probes for p in rounded], axis=-1),
            np.concatenate([_full(p.local, p.value.shape) for p in rounded], axis=-1),
        )

    def at(self, sequence: Probed, step: int) -> Probed:
        """One step; a pending dot product stays pending."""
        magnitude = None if sequence.magnitude is None else sequence.magnitude[step]
        if sequence._rounded is not None:
            sequence = sequence._rounded
            magnitude = None
        return Probed(
            sequence.value[step],
            sequence.probes[:, step],
            sequence.local if sequence.local.ndim == 0 else sequence.local[step],
            sequence.terms if magnitude is not None else 0,
            magnitude,
        )

    def stack(self, steps: Sequence[Probed]) -> Probed:
        """Steps stacked on a new first axis."""
        rounded = [self.rounded(s) for s in steps]
        return Probed(
            np.stack([s.value for s in rounded]),
            np.stack([s.probes for s in rounded], axis=1),
            np.stack([_full(s.local, s.value.shape) for s in rounded]),
        )

    def flip(self, sequence: Probed) -> Probed:
        """Reversed in time."""
        s = self.rounded(sequence)
        return Probed(
            s.value[::-1], s.probes[:, ::-1], s.local if s.local.ndim == 0 else s.local[::-1]
        )

    def carried(self, value: Probed) -> Probed:
        """Into the next step or layer: its error lives on in the probes, its local restarts."""
        v = self.rounded(value)
        return Probed(v.value, v.probes, NO_LOCAL)

    def summed_outer(self, a: Probed, b: Probed) -> Probed:
        """``sum a_t.T @ b_t`` over steps and batch, with the reduction's worst-case rounding."""
        a, b = self.rounded(a), self.rounded(b)

        def flat(x: Array) -> Array:
            return x.reshape(*x.shape[:-3], -1, x.shape[-1])

        av, bv, ap, bp = flat(a.value), flat(b.value), flat(a.probes), flat(b.probes)
        a_local, b_local = flat(_full(a.local, a.value.shape)), flat(_full(b.local, b.value.shape))
        terms = av.shape[0]
        value = av.T @ bv
        probes = np.swapaxes(ap, -1, -2) @ bv + av.T @ bp
        exact = np.abs(av).T @ np.abs(bv)
        local = (
            a_local.T @ np.abs(bv)
            + np.abs(av).T @ b_local
            + terms * (self.precision.matmul * exact + self.precision.underflow)
        )
        return Probed(value, probes, local)

    def summed(self, a: Probed) -> Probed:
        """``a`` summed over steps and batch, with the reduction's worst-case rounding."""
        a = self.rounded(a)
        terms = a.value.shape[0] * a.value.shape[1]
        own = terms * (
            self.precision.matmul * np.abs(a.value).sum(axis=(0, 1)) + self.precision.underflow
        )
        return Probed(
            a.value.sum(axis=(0, 1)),
            a.probes.sum(axis=(1, 2)),
            _full(a.local, a.value.shape).sum(axis=(0, 1)) + own,
        )

    def zeros_like(self, a: Probed) -> Probed:
        """Exact zeros."""
        return self.exact(np.zeros_like(a.value))
