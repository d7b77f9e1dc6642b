"""Hand-picked cases checked on every run: published tutorial numbers and bug shapes.

:data:`KNOWN_CASES` names each one; ``test_known_cases_match_reference`` runs each as its
own test (its id is the name), apart from the generated property so that Hypothesis
still shrinks a generated failure to a minimal case instead of stopping at a pinned one.

The tutorial cases use the 2x2 weights that ``torch.manual_seed(19)`` gives
``nn.RNN(2, 2, ...)`` (printed to four decimals in a widely read tutorial on stacked and
bidirectional RNNs) and its first 4-point input sequence, batch-first with N=1.

Example:
    >>> case = stacked_tutorial_case()
    >>> case.config.num_layers, case.input.shape
    (2, (1, 4, 2))

"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from rnn_conformance.cases import RNNCase
from rnn_conformance.config import RNNConfig
from rnn_conformance.layouts import pack_state
from rnn_conformance.parameters import parameter_name
from rnn_conformance.reference import Array
from rnn_conformance.strategies import round_to_dtype

__all__ = [
    "KNOWN_CASES",
    "known_cases",
    "TUTORIAL_INPUT",
    "bidirectional_tutorial_case",
    "bidirectional_two_layer_batch_first_with_hx",
    "seeded_case",
    "stacked_tutorial_case",
]

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


def _params(second: dict[str, int], dtype: str) -> dict[str, Array]:
    """The tutorial's weights: layer 0 forward, then the second set where ``second`` says."""
    params = {
        parameter_name(k, layer=0, direction=0): round_to_dtype(v, dtype) for k, v in _FIRST.items()
    }
    params.update(
        {parameter_name(k, **second): round_to_dtype(v, dtype) for k, v in _SECOND.items()}
    )
    return params


def stacked_tutorial_case(dtype: str = "float32") -> RNNCase:
    """Two stacked layers, batch_first, no hx: the tutorial's ``rnn_stacked``."""
    config = RNNConfig(2, 2, num_layers=2, batch_first=True)
    params = _params({"layer": 1, "direction": 0}, dtype)
    return RNNCase(config, dtype, 4, 1, round_to_dtype(TUTORIAL_INPUT, dtype), None, params)


def bidirectional_tutorial_case(dtype: str = "float32") -> RNNCase:
    """One bidirectional layer, batch_first, no hx: the tutorial's ``rnn_bidirect``."""
    config = RNNConfig(2, 2, bidirectional=True, batch_first=True)
    return RNNCase(
        config,
        dtype,
        4,
        1,
        round_to_dtype(TUTORIAL_INPUT, dtype),
        None,
        _params({"layer": 0, "direction": 1}, dtype),
    )


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


def bidirectional_two_layer_batch_first_with_hx(dtype: str = "float32") -> RNNCase:
    """The shape that most often breaks ports: D=2, 2 layers, batch_first, explicit hx.

    h_0 stays (D*layers, N, H) under batch_first; the reverse direction's state is at
    output[:, 0]; layer 1 consumes both directions of layer 0.
    """
    config = RNNConfig(3, 4, num_layers=2, batch_first=True, bidirectional=True)
    return seeded_case(config, seq_len=5, batch_size=3, dtype=dtype, seed=2)


KNOWN_CASES: dict[str, Callable[[], RNNCase]] = {
    "tutorial_stacked": stacked_tutorial_case,
    "tutorial_bidirectional": bidirectional_tutorial_case,
    "bidirectional_2_layers_batch_first_hx": bidirectional_two_layer_batch_first_with_hx,
    "empty_batch": lambda: seeded_case(
        RNNConfig(3, 4, num_layers=2, bidirectional=True), seq_len=3, batch_size=0
    ),
    "one_step": lambda: seeded_case(RNNConfig(5, 6, num_layers=2), seq_len=1, batch_size=2),
    "long_sequence_96_steps": lambda: seeded_case(
        RNNConfig(4, 8, nonlinearity="relu", batch_first=True), seq_len=96, batch_size=3
    ),
    "wide_hidden_state_72": lambda: seeded_case(
        RNNConfig(16, 72, num_layers=2, bidirectional=True), seq_len=10, batch_size=4
    ),
    "float64_3_layers_unbatched": lambda: seeded_case(
        RNNConfig(3, 5, num_layers=3, bias=False), seq_len=7, batch_size=None, dtype="float64"
    ),
}
"""Every pinned nn.RNN case by name (a test id: no spaces), in the order they are checked.

>>> KNOWN_CASES["empty_batch"]().input.shape
(3, 0, 3)
"""

_TUTORIAL = ("tutorial_stacked", "tutorial_bidirectional")
"""Cases whose numbers are nn.RNN's own (the tutorial's weights): no other family has them."""

_FAMILY_CASES: dict[str, dict[str, Callable[[], RNNCase]]] = {
    "lstm": {
        "projection_2_layers_bidirectional_hx": lambda: seeded_case(
            RNNConfig(3, 6, num_layers=2, bidirectional=True, proj_size=2, family_name="lstm"),
            seq_len=4,
            batch_size=2,
        ),
    },
}
"""Pinned cases of a family's own knobs (nn.LSTM's projection); nn.GRU has none of its own,
so its pinned cases are the shared shapes alone."""


def known_cases(family: str = "rnn") -> dict[str, Callable[[], RNNCase]]:
    """The pinned cases for ``family``: nn.RNN's, or the same shapes in that family plus its own.

    The edge cases (empty batch, one step, 96 steps, 72 units, float64 unbatched) carry
    over with the family's default arguments; the tutorial cases are nn.RNN's alone.

    >>> list(known_cases("rnn")) == list(KNOWN_CASES)
    True
    """
    if family == "rnn":
        return dict(KNOWN_CASES)

    def moved(make: Callable[[], RNNCase]) -> Callable[[], RNNCase]:
        def case() -> RNNCase:
            rnn = make()
            config = rnn.config.with_(family_name=family, nonlinearity="tanh")
            seed = sum(map(ord, family))
            return seeded_case(
                config,
                seq_len=rnn.seq_len,
                batch_size=rnn.batch_size,
                dtype=rnn.dtype,
                seed=seed,
                with_hx=rnn.hx is not None,
            )

        return case

    shared = {name: moved(make) for name, make in KNOWN_CASES.items() if name not in _TUTORIAL}
    return {**shared, **_FAMILY_CASES.get(family, {})}
