"""nn.RNN: the Elman recurrence ``h' = f(W_ih x + b_ih + W_hh h + b_hh)``, f = tanh or relu.

>>> from rnn_conformance.arithmetic import EXACT
>>> from rnn_conformance.config import RNNConfig
>>> import numpy as np
>>> state, _ = ELMAN.step(EXACT, RNNConfig(1, 1, nonlinearity="relu"), np.array([[-2.0]]),
...                       np.array([[3.0]]), (np.zeros((1, 1)),), {})
>>> state[0]
array([[1.]])
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from rnn_conformance.arithmetic import Arithmetic
from rnn_conformance.families.base import Family, StepGradients

if TYPE_CHECKING:
    from rnn_conformance.config import RNNConfig

__all__ = ["ELMAN", "Elman", "NONLINEARITIES"]

NONLINEARITIES = ("tanh", "relu")


class Elman(Family):
    """nn.RNN and nn.RNNCell: one gate, one state part, tanh or relu."""

    name: ClassVar[str] = "rnn"
    title: ClassVar[str] = "nn.RNN"
    module_target: ClassVar[str] = "torch.nn:RNN"
    cell_target: ClassVar[str] = "torch.nn:RNNCell"
    gates: ClassVar[int] = 1
    options: ClassVar[Mapping[str, Any]] = {"nonlinearity": "tanh"}
    invalid_arguments: ClassVar[tuple[tuple[Mapping[str, Any], type[Exception]], ...]] = (
        ({"nonlinearity": "gelu"}, ValueError),
        ({"proj_size": 1}, ValueError),  # "only supported for LSTM, not RNN or GRU"
    )
    # nn.RNN.forward calls hx.dim() on a tuple (an nn.LSTM-style (h_0, c_0)): AttributeError.
    tuple_hx_errors: ClassVar[tuple[type[Exception], ...]] = (AttributeError, TypeError)

    def check(self, config: RNNConfig) -> None:
        """Also reject a nonlinearity other than tanh and relu."""
        super().check(config)
        if config.nonlinearity not in NONLINEARITIES:
            raise ValueError(
                f"Unknown nonlinearity {config.nonlinearity!r}. Select from 'tanh' or 'relu'."
            )

    def state_ranges(self, config: RNNConfig) -> tuple[tuple[float, float] | None, ...]:
        """The interval [-1, 1] for tanh, [0, inf) for relu."""
        return ((-1.0, 1.0) if config.nonlinearity == "tanh" else (0.0, math.inf),)

    def cell_kwargs(self, config: RNNConfig) -> dict[str, Any]:
        """nn.RNNCell also takes the nonlinearity."""
        return {**super().cell_kwargs(config), "nonlinearity": config.nonlinearity}

    def step(
        self,
        ops: Arithmetic,
        config: RNNConfig,
        gi: Any,
        gh: Any,
        state: tuple[Any, ...],
        weights: Mapping[str, Any],
    ) -> tuple[tuple[Any, ...], Any]:
        """``h' = f(gi + gh)``, one sum for both projections."""
        # One sum of all products and both biases: a kernel may add them in any order.
        pre = ops.add(gi, gh)
        h = ops.tanh(pre) if config.nonlinearity == "tanh" else ops.relu(pre)
        return (h,), (pre, h)

    def step_backward(
        self,
        ops: Arithmetic,
        config: RNNConfig,
        cache: Any,
        grads: tuple[Any, ...],
        weights: Mapping[str, Any],
    ) -> StepGradients:
        """``a = dh * f'(pre)`` reaches both projections."""
        pre, h = cache
        if config.nonlinearity == "tanh":
            # From the output, as kernels do: tanh'(pre) = 1 - h**2.
            slope = ops.one_minus(ops.mul(h, h))
        else:
            slope = ops.relu_slope(pre)
        adjoint = ops.mul(grads[0], slope)
        return StepGradients(gi=adjoint, gh=adjoint, state=(None,))


ELMAN = Elman()
"""The nn.RNN family."""
