"""Toy recurrent families: each is all a new family writes, and nothing outside this module.

A family is a :class:`~rnn_conformance.numerics.families.Family` (its own arguments as data, its
step and backward step in the shared arithmetic) plus one registry line,
``FAMILIES[family.name] = family`` (``tests/toy_family_plugin.py`` is that line for a
pytest session that cannot edit the package).

* :class:`ToyGated` and :class:`ToyCellState` check the shared reference and backprop
  (``tests/test_family_seam.py``) for a gated cell that reads ``h`` directly and for a
  state of two parts; they have no module of their own, so they borrow nn.RNN's targets
  and are never run against the properties.
* :class:`ToyLeaky` is a leaky Elman cell with a constructor argument of its own,
  ``leak``: ``h' = (1 - leak) * h + leak * tanh(W_ih x + b_ih + W_hh h + b_hh)``. Its
  targets are the pure-torch module and cell of ``tests/toy_family_targets.py``, and it
  passes every shared property.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
from hypothesis import strategies as st

from rnn_conformance.numerics.families import Family, PinnedCase, StepGradients
from rnn_conformance.numerics.families.base import SaturatedGates

__all__ = ["LEAK_STEPS", "TOY_LEAKY", "ToyCellState", "ToyGated", "ToyLeaky"]


class ToyGated(Family):
    """``f = sigmoid(.)``, ``n = tanh(.)``, ``h' = f * h + (1 - f) * n``: reads h directly."""

    name: ClassVar[str] = "toy_gated"
    title: ClassVar[str] = "nn.ToyGated"
    module_target: ClassVar[str] = "torch.nn:RNN"
    cell_target: ClassVar[str] = "torch.nn:RNNCell"
    gates: ClassVar[int] = 2

    def step(self, ops, config, gi, gh, state, weights):
        f_pre, n_pre = ops.chunk(ops.add(gi, gh), 2)
        f, n = ops.sigmoid(f_pre), ops.tanh(n_pre)
        h = ops.add(ops.mul(f, state[0]), ops.mul(ops.one_minus(f), n))
        return (h,), (f, n, state[0])

    def step_backward(self, ops, config, cache, grads, weights):
        f, n, h = cache
        g = grads[0]
        d_f = ops.mul(ops.mul(g, ops.sub(h, n)), ops.mul(f, ops.one_minus(f)))
        d_n = ops.mul(ops.mul(g, ops.one_minus(f)), ops.one_minus(ops.mul(n, n)))
        gates = ops.cat([d_f, d_n])
        return StepGradients(gi=gates, gh=gates, state=(ops.mul(g, f),))


class ToyCellState(Family):
    """``c' = f * c + tanh(.)``, ``h' = tanh(c')``: a state of two parts, ``(h, c)``."""

    name: ClassVar[str] = "toy_cell_state"
    title: ClassVar[str] = "nn.ToyCellState"
    module_target: ClassVar[str] = "torch.nn:RNN"
    cell_target: ClassVar[str] = "torch.nn:RNNCell"
    gates: ClassVar[int] = 2
    state_names: ClassVar[tuple[str, ...]] = ("h", "c")

    def step(self, ops, config, gi, gh, state, weights):
        g_pre, f_pre = ops.chunk(ops.add(gi, gh), 2)
        g, f = ops.tanh(g_pre), ops.sigmoid(f_pre)
        c = ops.add(ops.mul(f, state[1]), g)
        h = ops.tanh(c)
        return (h, c), (g, f, state[1], h)

    def step_backward(self, ops, config, cache, grads, weights):
        g, f, c_prev, h = cache
        d_c = ops.add(grads[1], ops.mul(grads[0], ops.one_minus(ops.mul(h, h))))
        d_g = ops.mul(d_c, ops.one_minus(ops.mul(g, g)))
        d_f = ops.mul(ops.mul(d_c, c_prev), ops.mul(f, ops.one_minus(f)))
        gates = ops.cat([d_g, d_f])
        return StepGradients(gi=gates, gh=gates, state=(None, ops.mul(d_c, f)))


LEAK_STEPS = 64
"""Drawn leaks are multiples of 1/64 (any value in (0, 1] is valid): ``leak`` and
``1 - leak`` are then exact in every dtype the suite runs (bfloat16 has 8 significant
bits), so a target's rounding of them is no difference from the float64 reference, and
``(1 - leak) * h + leak * n`` stays within [-1, 1] exactly, as the range property checks."""


def _scaled(ops, value, factor: float, size: int):
    """``factor * value`` in the shared arithmetic: a diagonal ``linear``.

    The arithmetic has no product with a constant; as a dot product of ``size`` terms of
    which one is nonzero its rounding bound covers the target's ``factor * value``.
    """
    return ops.linear(value, factor * np.eye(size))


class ToyLeaky(Family):
    """A leaky Elman cell, ``h' = (1 - leak) * h + leak * tanh(gi + gh)``: one own argument.

    ``leak`` (a float in (0, 1], default 1.0: nn.RNN's tanh cell) follows ``num_layers`` in
    the module's signature, as nn.RNN's ``nonlinearity`` does, and the cell takes it too.
    """

    name: ClassVar[str] = "toy_leaky"
    title: ClassVar[str] = "nn.ToyLeakyRNN"
    module_target: ClassVar[str] = "toy_family_targets:ToyLeakyRNN"
    cell_target: ClassVar[str] = "toy_family_targets:ToyLeakyCell"
    gates: ClassVar[int] = 1
    options: ClassVar[Mapping[str, Any]] = {"leak": 1.0}
    options_after: ClassVar[str] = "num_layers"
    cell_options: ClassVar[tuple[str, ...]] = ("leak",)
    invalid_arguments: ClassVar[tuple[tuple[Mapping[str, Any], type[Exception]], ...]] = (
        ({"leak": 0.0}, ValueError),
        ({"leak": 1.5}, ValueError),
        ({"leak": "half"}, TypeError),
        ({"nonlinearity": "relu"}, TypeError),  # takes no nonlinearity
        ({"proj_size": 1}, TypeError),  # nor a projection
    )
    # As nn.RNN, whose checks it reuses: hx.dim() on a tuple raises AttributeError.
    tuple_hx_errors: ClassVar[tuple[type[Exception], ...]] = (AttributeError, TypeError)
    # At the default leak = 1 the cell is nn.RNN's tanh cell: with W_hh = 0 and b_hh = 0
    # every new h is tanh(s) of its step's pre-activation alone (the dropout properties
    # build their networks in the family's default arguments).
    saturated_gates: ClassVar[SaturatedGates | None] = SaturatedGates(
        (None,), "tanh(s)", np.tanh, np.arctanh
    )
    pinned_cases: ClassVar[tuple[PinnedCase, ...]] = (
        PinnedCase(
            "leak_half_2_layers_bidirectional_hx",
            {
                "input_size": 3,
                "hidden_size": 4,
                "num_layers": 2,
                "bidirectional": True,
                "leak": 0.5,
            },
            seq_len=5,
            batch_size=2,
        ),
    )

    def check_options(self, options: Mapping[str, Any]) -> None:
        """Also reject a leak that is not a real number in (0, 1]."""
        super().check_options(options)
        leak = options.get("leak", 1.0)
        if isinstance(leak, bool) or not isinstance(leak, int | float):
            raise ValueError(f"leak must be a float in (0, 1], got {leak!r}")
        if not 0.0 < leak <= 1.0:  # NaN included
            raise ValueError(f"leak must be in (0, 1], got {leak!r}")

    def option_strategy(
        self,
        hidden_size: int,
        *,
        unsupported: frozenset[str],
        relu: bool | None,
        projections: bool,
    ) -> st.SearchStrategy[dict[str, Any]]:
        """A leak in (0, 1], a multiple of 1/64, shrinking to the default 1.0.

        No relu mode (``relu=True`` is the shared code's to refuse) and no projection.
        """
        leaks = st.integers(0, LEAK_STEPS - 1).map(lambda k: (LEAK_STEPS - k) / LEAK_STEPS)
        return st.fixed_dictionaries({"leak": leaks})

    def labels(self, config) -> list[str]:
        """``toy_leaky``, and whether it leaks."""
        leak = config.option("leak")
        return [self.name, "no leak" if leak == 1.0 else "leaky"]

    def state_ranges(self, config) -> tuple[tuple[float, float] | None, ...]:
        """[-1, 1]: ``h'`` is a convex combination of ``h`` and a tanh."""
        return ((-1.0, 1.0),)

    def start_ranges(self, config) -> tuple[tuple[float, float] | None, ...]:
        """[-1, 1] when it leaks (``h'`` keeps a part of ``h``); any ``h_0`` at leak 1."""
        return (None,) if config.option("leak") == 1.0 else ((-1.0, 1.0),)

    def step(self, ops, config, gi, gh, state, weights):
        """``n = tanh(gi + gh)``, then ``(1 - leak) * h + leak * n`` as one sum."""
        leak, size = config.option("leak"), config.hidden_size
        n = ops.tanh(ops.add(gi, gh))
        mix = np.hstack([(1.0 - leak) * np.eye(size), leak * np.eye(size)])
        h = ops.linear(ops.cat([state[0], n]), mix)
        return (h,), n

    def step_backward(self, ops, config, cache, grads, weights):
        """``leak * dh * (1 - n**2)`` reaches both projections, ``(1 - leak) * dh`` h itself."""
        n = cache
        leak, size = config.option("leak"), config.hidden_size
        (d_h,) = grads
        adjoint = ops.mul(_scaled(ops, d_h, leak, size), ops.one_minus(ops.mul(n, n)))
        direct = None if leak == 1.0 else _scaled(ops, d_h, 1.0 - leak, size)
        return StepGradients(gi=adjoint, gh=adjoint, state=(direct,))


TOY_LEAKY = ToyLeaky()
"""The toy family with an argument of its own."""
