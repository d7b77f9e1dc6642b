"""How a target rounds: the policy's constants and the per-dtype rounding it assumes.

The facts of each dtype come from the one table, :mod:`rnn_conformance.numerics.dtypes`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rnn_conformance.numerics.dtypes import dtype_name, smallest_normal, unit_roundoff

__all__ = ["PROBES", "REFERENCE_ROUNDOFF", "SAFETY", "Precision"]

SAFETY = 2.0
"""Multiplier on the first-order bound; see :mod:`rnn_conformance.numerics.tolerances`."""

PROBES = 8
"""Number of error probes propagated through the linearised computation."""

REFERENCE_ROUNDOFF = 2.0**-53
"""The reference computes in float64."""


@dataclass(frozen=True)
class Precision:
    """How a target rounds: ``matmul`` for products and sums, ``elementwise`` for the rest.

    >>> Precision.of("float32").matmul == 2**-24 + 2**-53
    True
    >>> Precision.of("float32", tf32=True).matmul == 2**-11 + 2**-53
    True
    """

    matmul: float
    elementwise: float
    label: str
    underflow: float = 0.0
    activation_absolute: float = 0.0

    @classmethod
    def of(cls, dtype: Any, *, tf32: bool = False, activation_error: float = 0.0) -> Precision:
        """The precision of a module in ``dtype``; ``tf32`` widens float32 matmuls.

        The reference's own float64 roundoff is added, which matters only when the
        target is float64 as well. ``activation_error`` is a target's *declared* absolute
        error of tanh and the sigmoid in units of ``u`` (0 for nearly correctly rounded ones, as
        torch's);
        see "Declared activation accuracy" in :mod:`rnn_conformance.numerics.tolerances`.
        """
        name = dtype_name(dtype)
        u = unit_roundoff(name) + REFERENCE_ROUNDOFF
        label = name
        matmul = u
        if tf32 and name == "float32":
            matmul, label = unit_roundoff("tf32") + REFERENCE_ROUNDOFF, "float32 (TF32 matmuls)"
        if activation_error:
            label += f", tanh/sigmoid absolute error <= {activation_error:g} u (declared)"
        return cls(matmul, u, label, smallest_normal(name), activation_error * unit_roundoff(name))
