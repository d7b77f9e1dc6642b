"""Hand-picked cases checked on every run: published tutorial numbers and bug shapes.

:func:`known_cases` names each case of a family; ``test_known_cases_match_reference`` runs
each as its own test (its id is the name), apart from the generated property so that
Hypothesis still shrinks a generated failure to a minimal case instead of stopping at a
pinned one. Every family gets the shapes of :data:`SHARED_SHAPES` (an empty batch, one
step, 96 steps, 72 units, float64 unbatched, ...) in its default arguments, plus its own
pinned cases (:attr:`Family.pinned_cases <rnn_conformance.numerics.families.Family.pinned_cases>`):
nn.RNN's are a widely read tutorial's numbers, nn.LSTM's a projection.

Example:
    >>> case = stacked_tutorial_case()
    >>> case.config.num_layers, case.input.shape
    (2, (1, 4, 2))
    >>> list(known_cases(family_named("lstm")))[0]
    'projection_2_layers_bidirectional_hx'

"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np

from rnn_conformance.generation.cases import RNNCase
from rnn_conformance.generation.strategies import round_to_dtype
from rnn_conformance.numerics.config import RNNConfig
from rnn_conformance.numerics.families import Family, PinnedCase, family_named
from rnn_conformance.numerics.families.elman import TUTORIAL_INPUT
from rnn_conformance.numerics.layouts import pack_state

__all__ = [
    "SHARED_SHAPES",
    "TUTORIAL_INPUT",
    "bidirectional_tutorial_case",
    "bidirectional_two_layer_batch_first_with_hx",
    "known_cases",
    "pinned_case",
    "seeded_case",
    "stacked_tutorial_case",
]

SHARED_SHAPES: tuple[PinnedCase, ...] = (
    # The shape that most often breaks ports: D=2, 2 layers, batch_first, explicit hx.
    # h_0 stays (D*layers, N, H) under batch_first; the reverse direction's state is at
    # output[:, 0]; layer 1 consumes both directions of layer 0.
    PinnedCase(
        "bidirectional_2_layers_batch_first_hx",
        {
            "input_size": 3,
            "hidden_size": 4,
            "num_layers": 2,
            "batch_first": True,
            "bidirectional": True,
        },
        seq_len=5,
        batch_size=3,
    ),
    PinnedCase(
        "empty_batch",
        {"input_size": 3, "hidden_size": 4, "num_layers": 2, "bidirectional": True},
        seq_len=3,
        batch_size=0,
    ),
    PinnedCase("one_step", {"input_size": 5, "hidden_size": 6, "num_layers": 2}, 1, 2),
    # In the family's relu mode where it has one: unbounded states over many steps.
    PinnedCase(
        "long_sequence_96_steps", {"input_size": 4, "hidden_size": 8, "batch_first": True}, 96, 3
    ),
    PinnedCase(
        "wide_hidden_state_72",
        {"input_size": 16, "hidden_size": 72, "num_layers": 2, "bidirectional": True},
        seq_len=10,
        batch_size=4,
    ),
    PinnedCase(
        "float64_3_layers_unbatched",
        {"input_size": 3, "hidden_size": 5, "num_layers": 3, "bias": False},
        seq_len=7,
        batch_size=None,
        dtype="float64",
    ),
)
"""The pinned shapes every family is checked on, in its default arguments."""

_RELU_SHAPES = ("long_sequence_96_steps",)
"""Shared shapes checked in the family's relu mode, where it has one."""


def seeded_case(
    config: RNNConfig,
    *,
    seq_len: int,
    batch_size: int | None,
    dtype: str = "float32",
    with_hx: bool = True,
    seed: int = 0,
) -> RNNCase:
    """A deterministic case: U(-k, k) weights, U(-2, 2) input and U(-1, 1) hx from ``seed``.

    >>> seeded_case(RNNConfig(2, 3), seq_len=4, batch_size=0).input.shape
    (4, 0, 2)
    """
    rng = np.random.default_rng(seed)
    bound = 1 / np.sqrt(config.hidden_size)
    params = {
        name: round_to_dtype(rng.uniform(-bound, bound, shape), dtype)
        for name, shape in config.parameter_shapes().items()
    }
    x = round_to_dtype(rng.uniform(-2, 2, config.input_shape(seq_len, batch_size)), dtype)
    hx = None
    if with_hx:
        parts = [
            round_to_dtype(rng.uniform(-1, 1, shape), dtype)
            for shape in config.state_shapes(batch_size)
        ]
        hx = pack_state(config, parts)
    return RNNCase(config, dtype, seq_len, batch_size, x, hx, params)


def pinned_case(family: Family, pinned: PinnedCase, options: dict | None = None) -> RNNCase:
    """The case ``pinned`` describes, in ``family`` (with its own ``options`` if given).

    Its own weights and input when it has them, else seeded by the family's name.
    """
    config = RNNConfig(**pinned.config, family=family, **(options or {}))
    if pinned.weights is None:
        return seeded_case(
            config,
            seq_len=pinned.seq_len,
            batch_size=pinned.batch_size,
            dtype=pinned.dtype,
            with_hx=pinned.with_hx,
            seed=sum(map(ord, family.name)),
        )
    params = {name: round_to_dtype(v, pinned.dtype) for name, v in pinned.weights.items()}
    x = round_to_dtype(pinned.input, pinned.dtype)
    return RNNCase(config, pinned.dtype, pinned.seq_len, pinned.batch_size, x, None, params)


def known_cases(family: Family | str = "rnn") -> dict[str, Callable[[], RNNCase]]:
    """The pinned cases of ``family``, by name (a test id: no spaces), in checking order.

    >>> known_cases("gru")["empty_batch"]().input.shape
    (3, 0, 3)
    """
    kind = family_named(family)
    cases: dict[str, Callable[[], RNNCase]] = {}
    for pinned in (*kind.pinned_cases, *SHARED_SHAPES):
        relu = kind.relu_options if pinned.name in _RELU_SHAPES else None
        cases[pinned.name] = _maker(kind, pinned, dict(relu or {}))
    return cases


def _maker(family: Family, pinned: PinnedCase, options: dict) -> Callable[[], RNNCase]:
    return lambda: pinned_case(family, pinned, options)


def _elman(name: str, dtype: str) -> RNNCase:
    elman = family_named("rnn")
    (pinned,) = [case for case in (*elman.pinned_cases, *SHARED_SHAPES) if case.name == name]
    return pinned_case(elman, replace(pinned, dtype=dtype))


def stacked_tutorial_case(dtype: str = "float32") -> RNNCase:
    """Two stacked layers, batch_first, no hx: the tutorial's ``rnn_stacked``."""
    return _elman("tutorial_stacked", dtype)


def bidirectional_tutorial_case(dtype: str = "float32") -> RNNCase:
    """One bidirectional layer, batch_first, no hx: the tutorial's ``rnn_bidirect``."""
    return _elman("tutorial_bidirectional", dtype)


def bidirectional_two_layer_batch_first_with_hx(dtype: str = "float32") -> RNNCase:
    """The shape that most often breaks ports, in nn.RNN: D=2, 2 layers, batch_first, hx."""
    return _elman("bidirectional_2_layers_batch_first_hx", dtype)
