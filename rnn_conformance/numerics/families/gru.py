"""nn.GRU: gates r, z, n; ``n = tanh(gi_n + r * gh_n)``, ``h' = (1 - z) * n + z * h``.

torch chunks the gate rows in the order r (reset), z (update), n (new); ``r`` and ``z``
are sigmoids of ``W_i x + b_i + W_h h + b_h``, and the reset gate is applied *after* the
hidden projection and its bias::

    n  = tanh(W_in x + b_in + r * (W_hn h + b_hn))
    h' = (1 - z) * n + z * h

(not the original paper's ``W_hn (r * h)``), so ``b_in`` and ``b_hn`` are different
parameters with different gradients. The state is ``h`` alone. The step computes ``h'``
as torch's kernels do, ``n + z * (h - n)``: the same number, and the rounding model of
the form whose subtraction may cancel.

>>> import numpy as np
>>> from rnn_conformance.numerics.arithmetic import EXACT
>>> from rnn_conformance.numerics.config import RNNConfig
>>> config = RNNConfig(1, 1, family="gru")
>>> gh = np.array([[0.0, 0.0, 2.0]])  # r = z = 1/2, gh_n = 2
>>> (h,), _ = GRU.step(EXACT, config, np.zeros((1, 3)), gh, (np.ones((1, 1)),), {})
>>> round(float(h[0, 0]), 6)  # (1 - 1/2) * tanh(1/2 * 2) + 1/2 * 1
0.880797
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from rnn_conformance.numerics.arithmetic import Arithmetic
from rnn_conformance.numerics.families.base import (
    SATURATED,
    Configuration,
    Family,
    SaturatedGates,
    StepGradients,
    sigmoid_slope,
)

__all__ = ["GRU", "GatedRecurrentUnit"]


class GatedRecurrentUnit(Family):
    """nn.GRU and nn.GRUCell: three gates, state ``h``, the reset gate after ``W_hn h + b_hn``."""

    name: ClassVar[str] = "gru"
    title: ClassVar[str] = "nn.GRU"
    module_target: ClassVar[str] = "torch.nn:GRU"
    cell_target: ClassVar[str] = "torch.nn:GRUCell"
    gates: ClassVar[int] = 3
    invalid_arguments: ClassVar[tuple[tuple[Mapping[str, Any], type[Exception]], ...]] = (
        ({"proj_size": 1}, ValueError),  # "only supported for LSTM, not RNN or GRU"
        ({"nonlinearity": "tanh"}, TypeError),  # RNNBase takes no nonlinearity
    )
    # torch 2.13's nn.GRU.forward calls hx.dim() on whatever it is given: a tuple (a port
    # from nn.LSTM passing (h_0, c_0), or (h_0,)) fails with AttributeError; TypeError is
    # the clearer error an implementation may raise instead.
    tuple_hx_errors: ClassVar[tuple[type[Exception], ...]] = (AttributeError, TypeError)
    # z = sigmoid(-20), and with W_hh = 0, b_hh = 0: n = tanh(s + r (W_hn h + b_hn)) =
    # tanh(s) whatever r is, so h = (1 - z) n + z h_prev = tanh(s) within 4.2e-9.
    saturated_gates: ClassVar[SaturatedGates | None] = SaturatedGates(
        (0.0, -SATURATED, None), "tanh(s)", np.tanh, np.arctanh
    )

    def state_ranges(self, config: Configuration) -> tuple[tuple[float, float] | None, ...]:
        """[-1, 1]: ``h'`` is a convex combination of ``n = tanh(...)`` and ``h``."""
        return ((-1.0, 1.0),)

    def start_ranges(self, config: Configuration) -> tuple[tuple[float, float] | None, ...]:
        """The same [-1, 1]: ``h'`` keeps a part of ``h``, so a larger ``h_0`` persists."""
        return ((-1.0, 1.0),)

    def step(
        self,
        ops: Arithmetic,
        config: Configuration,
        gi: Any,
        gh: Any,
        state: tuple[Any, ...],
        weights: Mapping[str, Any],
    ) -> tuple[tuple[Any, ...], Any]:
        """One step; ``r`` and ``z`` each read one sum of both projections, ``n`` two."""
        # The reset and update pre-activations are one sum of all products and both biases
        # (a kernel may add them in any order); the new gate's two projections stay apart,
        # since the reset gate multiplies the hidden one (its bias included) alone.
        r_pre, z_pre, _ = ops.chunk(ops.add(gi, gh), 3)
        gi_n, gh_n = ops.chunk(gi, 3)[2], ops.chunk(gh, 3)[2]
        r, z = ops.sigmoid(r_pre), ops.sigmoid(z_pre)
        n = ops.tanh(ops.add(gi_n, ops.mul(r, gh_n)))
        h = state[0]
        # (1 - z) * n + z * h, as torch's kernels compute it.
        new = ops.add(n, ops.mul(z, ops.sub(h, n)))
        return (new,), (r, z, n, h, gh_n)

    def step_backward(
        self,
        ops: Arithmetic,
        config: Configuration,
        cache: Any,
        grads: tuple[Any, ...],
        weights: Mapping[str, Any],
    ) -> StepGradients:
        """Through ``h' = n + z * (h - n)``, ``n = tanh(gi_n + r * gh_n)`` and the sigmoids.

        The two projections' gradients differ in the new gate's block only: ``gi_n``
        receives ``d(n_pre)``, ``gh_n`` (and so ``b_hn``) ``d(n_pre) * r``. ``h`` itself
        receives ``d_h * z`` directly, besides what reaches it through ``W_hh``.
        """
        r, z, n, h, gh_n = cache
        (d_h,) = grads
        d_n_pre = ops.mul(ops.mul(d_h, ops.one_minus(z)), ops.one_minus(ops.mul(n, n)))
        d_z = ops.mul(ops.mul(d_h, ops.sub(h, n)), sigmoid_slope(ops, z))
        d_r = ops.mul(ops.mul(d_n_pre, gh_n), sigmoid_slope(ops, r))
        return StepGradients(
            gi=ops.cat([d_r, d_z, d_n_pre]),
            gh=ops.cat([d_r, d_z, ops.mul(d_n_pre, r)]),
            state=(ops.mul(d_h, z),),
        )


GRU = GatedRecurrentUnit()
"""The nn.GRU family."""
