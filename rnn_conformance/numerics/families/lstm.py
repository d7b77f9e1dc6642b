"""nn.LSTM: gates i, f, g, o; ``c' = f * c + i * g``, ``h' = o * tanh(c')``, then ``W_hr h'``.

torch chunks the gate rows in the order i, f, g, o; ``i``, ``f`` and ``o`` are sigmoids and
``g`` a tanh. With ``proj_size > 0`` the new ``h`` is projected, ``h' = W_hr (o * tanh(c'))``,
so ``h`` has ``proj_size`` features and ``c`` keeps ``hidden_size``; ``weight_hh`` then reads
the projected ``h`` and is (4H, proj_size).

>>> import numpy as np
>>> from rnn_conformance.numerics.arithmetic import EXACT
>>> from rnn_conformance.numerics.config import RNNConfig
>>> config = RNNConfig(1, 1, family="lstm")
>>> (h, c), _ = LSTM.step(EXACT, config, np.zeros((1, 4)), np.zeros((1, 4)),
...                       (np.zeros((1, 1)), np.ones((1, 1))), {})
>>> float(c[0, 0]), round(float(h[0, 0]), 6)  # f = i = o = 1/2, g = 0
(0.5, 0.231059)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
from hypothesis import strategies as st

from rnn_conformance.numerics.arithmetic import Arithmetic
from rnn_conformance.numerics.families.base import (
    SATURATED,
    Configuration,
    Family,
    PinnedCase,
    SaturatedGates,
    StepGradients,
    sigmoid_slope,
)

__all__ = ["LSTM", "LongShortTermMemory"]


class LongShortTermMemory(Family):
    """nn.LSTM and nn.LSTMCell: four gates, state ``(h, c)``, optional projection of ``h``."""

    name: ClassVar[str] = "lstm"
    title: ClassVar[str] = "nn.LSTM"
    module_target: ClassVar[str] = "torch.nn:LSTM"
    cell_target: ClassVar[str] = "torch.nn:LSTMCell"
    gates: ClassVar[int] = 4
    state_names: ClassVar[tuple[str, ...]] = ("h", "c")
    options: ClassVar[Mapping[str, Any]] = {"proj_size": 0}
    option_capabilities: ClassVar[Mapping[str, str]] = {"proj_size": "projection"}
    invalid_arguments: ClassVar[tuple[tuple[Mapping[str, Any], type[Exception]], ...]] = (
        ({"proj_size": -1}, ValueError),
        ({"proj_size": 4}, ValueError),  # not smaller than hidden_size=4
        ({"nonlinearity": "tanh"}, TypeError),  # RNNBase takes no nonlinearity
    )

    # i = o = sigmoid(20), f = sigmoid(-20), g = tanh(s): c = f c_prev + i g = tanh(s)
    # within 4.2e-9 (|c_prev| <= 1), and h = o tanh(c) = tanh(tanh(s)) within 6.3e-9.
    saturated_gates: ClassVar[SaturatedGates | None] = SaturatedGates(
        (SATURATED, -SATURATED, None, SATURATED),
        "tanh(tanh(s))",
        lambda s: np.tanh(np.tanh(s)),
        lambda h: np.arctanh(np.arctanh(h)),
    )
    pinned_cases: ClassVar[tuple[PinnedCase, ...]] = (
        PinnedCase(
            "projection_2_layers_bidirectional_hx",
            {
                "input_size": 3,
                "hidden_size": 6,
                "num_layers": 2,
                "bidirectional": True,
                "proj_size": 2,
            },
            seq_len=4,
            batch_size=2,
        ),
    )

    def check_options(self, options: Mapping[str, Any]) -> None:
        """Also nn.LSTM's rule: ``proj_size >= 0`` (below ``hidden_size``: :meth:`check`)."""
        super().check_options(options)
        if options.get("proj_size", 0) < 0:
            raise ValueError(
                "proj_size should be a positive integer or zero to disable projections"
            )

    def check(self, config: Configuration) -> None:
        """nn.LSTM's rule that needs the sizes: ``proj_size < hidden_size``."""
        if config.option("proj_size") >= config.hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")

    def option_strategy(
        self,
        hidden_size: int,
        *,
        unsupported: frozenset[str],
        relu: bool | None,
        projections: bool,
    ) -> st.SearchStrategy[dict[str, Any]]:
        """No projection (what it shrinks to) or any ``proj_size`` below ``hidden_size``."""
        if not projections or "projection" in unsupported or hidden_size == 1:
            return st.just({"proj_size": 0})
        sizes = st.just(0) | st.integers(1, hidden_size - 1)
        return st.fixed_dictionaries({"proj_size": sizes})

    def labels(self, config: Configuration) -> list[str]:
        """``lstm``, and the projection's size."""
        proj_size = config.option("proj_size")
        return [self.name, *([f"proj_size={proj_size}"] if proj_size else [])]

    def options_from_parameters(self, shapes: Mapping[str, tuple[int, ...]]) -> dict[str, Any]:
        """``proj_size`` is the row count of ``weight_hr_l0``, when there is one."""
        projection = shapes.get("weight_hr_l0")
        return {} if projection is None else {"proj_size": projection[0]}

    def state_sizes(self, config: Configuration) -> tuple[int, ...]:
        """``h`` has ``proj_size`` features when projecting, ``c`` always ``hidden_size``."""
        return (config.option("proj_size") or config.hidden_size, config.hidden_size)

    def state_ranges(self, config: Configuration) -> tuple[tuple[float, float] | None, ...]:
        """``|h| = |o * tanh(c)| <= 1`` unless projected; ``c`` may grow by 1 a step."""
        return (None if config.option("proj_size") else (-1.0, 1.0), None)

    def direction_parameters(
        self, config: Configuration, input_size: int
    ) -> dict[str, tuple[int, ...]]:
        """nn.LSTM registers ``weight_hr`` after the biases."""
        shapes = super().direction_parameters(config, input_size)
        if config.option("proj_size"):
            shapes["weight_hr"] = (config.option("proj_size"), config.hidden_size)
        return shapes

    def step(
        self,
        ops: Arithmetic,
        config: Configuration,
        gi: Any,
        gh: Any,
        state: tuple[Any, ...],
        weights: Mapping[str, Any],
    ) -> tuple[tuple[Any, ...], Any]:
        """One step; each gate's pre-activation is one sum of both projections."""
        i_pre, f_pre, g_pre, o_pre = ops.chunk(ops.add(gi, gh), 4)
        i, f, g, o = ops.sigmoid(i_pre), ops.sigmoid(f_pre), ops.tanh(g_pre), ops.sigmoid(o_pre)
        c = ops.add(ops.mul(f, state[1]), ops.mul(i, g))
        tanh_c = ops.tanh(c)
        h = ops.mul(o, tanh_c)
        cache = (i, f, g, o, state[1], tanh_c, h)
        if config.option("proj_size"):
            return (ops.linear(h, weights["weight_hr"]), c), cache
        return (h, c), cache

    def step_backward(
        self,
        ops: Arithmetic,
        config: Configuration,
        cache: Any,
        grads: tuple[Any, ...],
        weights: Mapping[str, Any],
    ) -> StepGradients:
        """Through the projection, ``h = o * tanh(c)``, then ``c = f * c_prev + i * g``."""
        i, f, g, o, c_prev, tanh_c, h = cache
        d_h, d_c = grads
        parameters = {}
        if config.option("proj_size"):
            parameters["weight_hr"] = (d_h, h)
            d_h = ops.linear(d_h, weights["weight_hr"].T)
        d_c = ops.add(d_c, ops.mul(ops.mul(d_h, o), ops.one_minus(ops.mul(tanh_c, tanh_c))))
        d_i = ops.mul(ops.mul(d_c, g), sigmoid_slope(ops, i))
        d_f = ops.mul(ops.mul(d_c, c_prev), sigmoid_slope(ops, f))
        d_g = ops.mul(ops.mul(d_c, i), ops.one_minus(ops.mul(g, g)))
        d_o = ops.mul(ops.mul(d_h, tanh_c), sigmoid_slope(ops, o))
        gates = ops.cat([d_i, d_f, d_g, d_o])
        return StepGradients(
            gi=gates, gh=gates, state=(None, ops.mul(d_c, f)), parameters=parameters
        )


LSTM = LongShortTermMemory()
"""The nn.LSTM family."""
