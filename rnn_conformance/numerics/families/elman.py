"""nn.RNN: the Elman recurrence ``h' = f(W_ih x + b_ih + W_hh h + b_hh)``, f = tanh or relu.

>>> from rnn_conformance.numerics.arithmetic import EXACT
>>> from rnn_conformance.numerics.config import RNNConfig
>>> import numpy as np
>>> state, _ = ELMAN.step(EXACT, RNNConfig(1, 1, nonlinearity="relu"), np.array([[-2.0]]),
...                       np.array([[3.0]]), (np.zeros((1, 1)),), {})
>>> state[0]
array([[1.]])
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar

from hypothesis import strategies as st

from rnn_conformance.numerics.arithmetic import Arithmetic
from rnn_conformance.numerics.families.base import Configuration, Family, PinnedCase, StepGradients

__all__ = ["ELMAN", "NONLINEARITIES", "TUTORIAL_INPUT", "Elman"]

NONLINEARITIES = ("tanh", "relu")

# The 2x2 weights that ``torch.manual_seed(19)`` gives ``nn.RNN(2, 2, ...)``, printed to
# four decimals in a widely read tutorial on stacked and bidirectional RNNs, and its first
# 4-point input sequence, batch-first with N=1.
_FIRST = {
    "weight_ih": [[0.6627, -0.4245], [0.5373, 0.2294]],
    "weight_hh": [[-0.4015, -0.5385], [-0.1956, -0.6835]],
    "bias_ih": [0.4954, 0.6533],
    "bias_hh": [-0.3565, -0.2904],
}
_SECOND = {
    "weight_ih": [[-0.6701, -0.5811], [-0.0170, -0.5856]],
    "weight_hh": [[0.1159, -0.6978], [0.3241, -0.0983]],
    "bias_ih": [-0.3163, -0.2153],
    "bias_hh": [0.0722, -0.3242],
}
TUTORIAL_INPUT = [[[1.0349, 0.9661], [0.8055, -0.9169], [-0.8251, -0.9499], [-0.8670, 0.9342]]]
"""The tutorial's first sequence (N=1, L=4, F=2), to four decimals."""


def _tutorial_weights(second: str) -> dict[str, list]:
    """Layer 0's forward weights, then the second set with the suffix ``second``."""
    weights = {f"{stem}_l0": values for stem, values in _FIRST.items()}
    weights.update({f"{stem}{second}": values for stem, values in _SECOND.items()})
    return weights


class Elman(Family):
    """nn.RNN and nn.RNNCell: one gate, one state part, tanh or relu."""

    name: ClassVar[str] = "rnn"
    title: ClassVar[str] = "nn.RNN"
    module_target: ClassVar[str] = "torch.nn:RNN"
    cell_target: ClassVar[str] = "torch.nn:RNNCell"
    gates: ClassVar[int] = 1
    options: ClassVar[Mapping[str, Any]] = {"nonlinearity": "tanh"}
    options_after: ClassVar[str] = "num_layers"
    cell_options: ClassVar[tuple[str, ...]] = ("nonlinearity",)
    relu_options: ClassVar[Mapping[str, Any] | None] = {"nonlinearity": "relu"}
    invalid_arguments: ClassVar[tuple[tuple[Mapping[str, Any], type[Exception]], ...]] = (
        ({"nonlinearity": "gelu"}, ValueError),
        ({"proj_size": 1}, ValueError),  # "only supported for LSTM, not RNN or GRU"
    )
    # nn.RNN.forward calls hx.dim() on a tuple (an nn.LSTM-style (h_0, c_0)): AttributeError.
    tuple_hx_errors: ClassVar[tuple[type[Exception], ...]] = (AttributeError, TypeError)

    pinned_cases: ClassVar[tuple[PinnedCase, ...]] = (
        # The tutorial's nn.RNN numbers: its stacked and its bidirectional network.
        PinnedCase(
            "tutorial_stacked",
            {"input_size": 2, "hidden_size": 2, "num_layers": 2, "batch_first": True},
            seq_len=4,
            batch_size=1,
            with_hx=False,
            weights=_tutorial_weights("_l1"),
            input=TUTORIAL_INPUT,
        ),
        PinnedCase(
            "tutorial_bidirectional",
            {"input_size": 2, "hidden_size": 2, "bidirectional": True, "batch_first": True},
            seq_len=4,
            batch_size=1,
            with_hx=False,
            weights=_tutorial_weights("_l0_reverse"),
            input=TUTORIAL_INPUT,
        ),
    )

    def check_options(self, options: Mapping[str, Any]) -> None:
        """Also reject a nonlinearity other than tanh and relu."""
        super().check_options(options)
        nonlinearity = options.get("nonlinearity", "tanh")
        if nonlinearity not in NONLINEARITIES:
            raise ValueError(
                f"Unknown nonlinearity {nonlinearity!r}. Select from 'tanh' or 'relu'."
            )

    def option_strategy(
        self,
        hidden_size: int,
        *,
        unsupported: frozenset[str],
        relu: bool | None,
        projections: bool,
    ) -> st.SearchStrategy[dict[str, Any]]:
        """Tanh or relu (shrinking to tanh), or the one ``relu`` asks for."""
        choices = {None: NONLINEARITIES, True: ("relu",), False: ("tanh",)}[relu]
        return st.fixed_dictionaries({"nonlinearity": st.sampled_from(choices)})

    def labels(self, config: Configuration) -> list[str]:
        """The nonlinearity."""
        return [config.option("nonlinearity")]

    def state_ranges(self, config: Configuration) -> tuple[tuple[float, float] | None, ...]:
        """The interval [-1, 1] for tanh, [0, inf) for relu."""
        tanh = config.option("nonlinearity") == "tanh"
        return ((-1.0, 1.0) if tanh else (0.0, math.inf),)

    def step(
        self,
        ops: Arithmetic,
        config: Configuration,
        gi: Any,
        gh: Any,
        state: tuple[Any, ...],
        weights: Mapping[str, Any],
    ) -> tuple[tuple[Any, ...], Any]:
        """``h' = f(gi + gh)``, one sum for both projections."""
        # One sum of all products and both biases: a kernel may add them in any order.
        pre = ops.add(gi, gh)
        h = ops.tanh(pre) if config.option("nonlinearity") == "tanh" else ops.relu(pre)
        return (h,), (pre, h)

    def step_backward(
        self,
        ops: Arithmetic,
        config: Configuration,
        cache: Any,
        grads: tuple[Any, ...],
        weights: Mapping[str, Any],
    ) -> StepGradients:
        """``a = dh * f'(pre)`` reaches both projections."""
        pre, h = cache
        if config.option("nonlinearity") == "tanh":
            # From the output, as kernels do: tanh'(pre) = 1 - h**2.
            slope = ops.one_minus(ops.mul(h, h))
        else:
            slope = ops.relu_slope(pre)
        adjoint = ops.mul(grads[0], slope)
        return StepGradients(gi=adjoint, gh=adjoint, state=(None,))


ELMAN = Elman()
"""The nn.RNN family."""
