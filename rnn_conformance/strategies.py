"""Public Hypothesis strategies for RNN configurations, inputs, hidden states and weights.

Everything here is independent of pytest and of the target: import these into your own
Hypothesis tests. All values are float64 NumPy arrays holding numbers *exactly
representable in the requested dtype*, so a float32 module and the float64 reference
see identical inputs.

Example:
    >>> from hypothesis import given
    >>> from rnn_conformance.strategies import rnn_cases
    >>> @given(rnn_cases(dtypes=("float32",)))
    ... def test_shapes(case):
    ...     assert case.input.shape == case.config.input_shape(case.seq_len, case.batch_size)

"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from hypothesis.extra import numpy as xnp

from rnn_conformance.cases import MEMORY_LAYOUTS, MemoryLayout, RNNCase
from rnn_conformance.config import RNNConfig
from rnn_conformance.reference import Array

__all__ = [
    "FLOAT_DTYPES",
    "MAGNITUDES",
    "MEMORY_LAYOUTS",
    "MemoryLayout",
    "RNNCase",
    "RNNConfig",
    "batch_sizes",
    "float_arrays",
    "hidden_states",
    "memory_layouts",
    "mostly_small",
    "rnn_cases",
    "rnn_configs",
    "rnn_parameters",
    "round_to_dtype",
    "sequence_lengths",
]

FLOAT_DTYPES = ("float64", "float32", "float16", "bfloat16")
MAGNITUDES = (1.0, 0.01, 4.0, 30.0)
"""Input scales: unit, tiny, saturating tanh, and relu pre-activations well above 6."""


def _check_bound(name: str, value: int, minimum: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidArgument(f"{name}={value!r} must be an int")
    if value < minimum:
        raise InvalidArgument(f"{name}={value} must be at least {minimum}")


def _check_choices(name: str, values: Sequence[Any], allowed: Sequence[Any]) -> None:
    if not values:
        raise InvalidArgument(f"{name} must not be empty")
    for value in values:
        if value not in allowed:
            raise InvalidArgument(f"{name} contains {value!r}; allowed: {list(allowed)}")


def _flags(name: str, value: bool | None) -> st.SearchStrategy[bool]:
    if value is None:
        return st.booleans()
    if not isinstance(value, bool):
        raise InvalidArgument(f"{name}={value!r} must be True, False or None (both)")
    return st.just(value)


def mostly_small(max_value: int, *, typical: int, min_value: int = 1) -> st.SearchStrategy[int]:
    """Integers in ``[min_value, max_value]``, three times in four at most ``typical``.

    Shrinks towards ``min_value``. Keeps most examples cheap while still reaching the
    large sizes where blocking and vectorisation bugs live.

    >>> mostly_small(64, typical=8).example() <= 64
    True
    """
    _check_bound("min_value", min_value, 0)
    _check_bound("max_value", max_value, min_value)
    small = st.integers(min_value, max(min_value, min(typical, max_value)))
    if typical >= max_value:
        return small
    return st.one_of(small, small, small, st.integers(min_value, max_value))


def rnn_configs(
    *,
    max_input_size: int = 64,
    max_hidden_size: int = 80,
    max_layers: int = 3,
    nonlinearities: Sequence[str] = ("tanh", "relu"),
    bias: bool | None = None,
    batch_first: bool | None = None,
    bidirectional: bool | None = None,
    dropouts: Sequence[float] = (0.0, 0.5),
) -> st.SearchStrategy[RNNConfig]:
    """Draw :class:`RNNConfig` values within the given bounds.

    Sizes are mostly small (input <= 8, hidden <= 16, layers 1-2) and sometimes reach the
    maxima. ``bias``, ``batch_first`` and ``bidirectional`` are fixed when given and
    drawn when ``None``. Dropout is drawn from ``dropouts`` only for ``num_layers > 1``
    (nn.RNN warns otherwise). Shrinks towards ``RNNConfig(1, 1)`` with tanh, bias on,
    sequence-first, unidirectional, no dropout.

    >>> cfg = rnn_configs(max_layers=1, bidirectional=True).example()
    >>> (cfg.num_layers, cfg.bidirectional)
    (1, True)
    """
    _check_bound("max_input_size", max_input_size, 1)
    _check_bound("max_hidden_size", max_hidden_size, 1)
    _check_bound("max_layers", max_layers, 1)
    _check_choices("nonlinearities", nonlinearities, ("tanh", "relu"))
    for p in dropouts:
        if not 0.0 <= p <= 1.0:
            raise InvalidArgument(f"dropouts contains {p!r}; each must be in [0, 1]")

    # Drawn as "no bias?" so that it shrinks to nn.RNN's default, bias=True.
    biases = (
        st.booleans().map(lambda no_bias: not no_bias) if bias is None else _flags("bias", bias)
    )

    @st.composite
    def draw_config(draw: st.DrawFn) -> RNNConfig:
        num_layers = draw(mostly_small(max_layers, typical=2))
        dropout = 0.0
        if num_layers > 1 and dropouts:
            dropout = draw(st.sampled_from(sorted(dropouts)))
        return RNNConfig(
            input_size=draw(mostly_small(max_input_size, typical=8)),
            hidden_size=draw(mostly_small(max_hidden_size, typical=16)),
            num_layers=num_layers,
            nonlinearity=draw(st.sampled_from(list(nonlinearities))),
            bias=draw(biases),
            batch_first=draw(_flags("batch_first", batch_first)),
            dropout=dropout,
            bidirectional=draw(_flags("bidirectional", bidirectional)),
        )

    return draw_config()


def round_to_dtype(values: Any, dtype: str) -> Array:
    """Round float64 values to the nearest ``dtype`` number (round-half-even), as float64.

    Supports float64, float32, float16 and bfloat16 (the last via float32 bit patterns,
    since NumPy has no bfloat16).

    >>> float(round_to_dtype(np.array(1 + 2**-12), "bfloat16")[()])
    1.0
    """
    _check_choices("dtype", [dtype], FLOAT_DTYPES)
    array = np.asarray(values, dtype=np.float64)
    if dtype == "bfloat16":
        bits = array.astype(np.float32).view(np.uint32).astype(np.uint64)
        # NumPy scalars, not Python ints: NumPy 1.24 has no uint64 >> int for 0-d arrays.
        one, half, shift = np.uint64(1), np.uint64(0x7FFF), np.uint64(16)
        rounded = (bits + half + ((bits >> shift) & one)) >> shift << shift
        return rounded.astype(np.uint32).view(np.float32).astype(np.float64)
    return array.astype(dtype).astype(np.float64)


def float_arrays(
    shape: tuple[int, ...],
    *,
    dtype: str = "float32",
    magnitudes: Sequence[float] = MAGNITUDES,
) -> st.SearchStrategy[Array]:
    """Arrays of ``shape`` with values exactly representable in ``dtype``.

    A ``hypothesis.extra.numpy`` array in [-1, 1] (a fill value plus a sparse set of
    distinct elements), plus, optionally, dense uniform noise from a drawn seed, all
    scaled by a magnitude from ``magnitudes``. Shrinks towards all-zero arrays at
    magnitude ``magnitudes[0]`` without noise; the minimal failing input is then a
    constant array with a few distinguished elements.

    >>> float_arrays((2, 3)).example().shape
    (2, 3)
    """
    _check_choices("dtype", [dtype], FLOAT_DTYPES)
    if not magnitudes:
        raise InvalidArgument("magnitudes must not be empty")
    elements = st.floats(-1.0, 1.0, width=32 if dtype != "float64" else 64)

    @st.composite
    def draw_array(draw: st.DrawFn) -> Array:
        base = draw(xnp.arrays(np.float64, shape, elements=elements))
        if draw(st.booleans()):
            seed = draw(st.integers(0, 2**32 - 1))
            base = base + np.random.default_rng(seed).uniform(-1.0, 1.0, shape)
        scale = draw(st.sampled_from(list(magnitudes)))
        return round_to_dtype(scale * base, dtype)

    return draw_array()


def rnn_parameters(
    config: RNNConfig, *, dtype: str = "float32"
) -> st.SearchStrategy[dict[str, Array]]:
    """Weights for ``config`` drawn from nn.RNN's U(-1/sqrt(H), 1/sqrt(H)), rounded to dtype.

    Values come from a NumPy generator seeded by a drawn integer (dense weights would
    overflow Hypothesis' example budget); shrinks towards seed 0. Keys are in nn.RNN's
    registration order.

    >>> sorted(rnn_parameters(RNNConfig(2, 3, bias=False)).example())
    ['weight_hh_l0', 'weight_ih_l0']
    """
    _check_choices("dtype", [dtype], FLOAT_DTYPES)
    bound = 1.0 / math.sqrt(config.hidden_size)

    def build(seed: int) -> dict[str, Array]:
        rng = np.random.default_rng(seed)
        return {
            name: round_to_dtype(rng.uniform(-bound, bound, shape), dtype)
            for name, shape in config.parameter_shapes().items()
        }

    return st.integers(0, 2**32 - 1).map(build)


def sequence_lengths(*, max_len: int = 64, typical: int = 12) -> st.SearchStrategy[int]:
    """Sequence lengths in [1, max_len], mostly at most ``typical``; shrinks towards 1."""
    _check_bound("max_len", max_len, 1)
    return mostly_small(max_len, typical=typical)


def batch_sizes(
    *, max_size: int = 16, allow_unbatched: bool = True, allow_empty: bool = True
) -> st.SearchStrategy[int | None]:
    """Batch sizes: ``None`` for unbatched 2-D input, 0 for an empty batch, else 1..max_size.

    Mostly at most 5, sometimes up to ``max_size``; shrinks towards 1.
    """
    _check_bound("max_size", max_size, 1)
    sizes: st.SearchStrategy[int | None] = mostly_small(max_size, typical=5)
    if allow_empty:
        sizes = sizes | st.just(0)
    if allow_unbatched:
        sizes = sizes | st.none()
    return sizes


def hidden_states(
    config: RNNConfig,
    batch_size: int | None,
    *,
    dtype: str = "float32",
    allow_none: bool = True,
) -> st.SearchStrategy[Array | None]:
    """Initial states ``h_0`` of shape (D * num_layers, [N,] H) in [-1, 1], or ``None``.

    ``None`` (nn.RNN's zeros) comes first and is what it shrinks towards.
    """
    states = float_arrays(config.hidden_shape(batch_size), dtype=dtype, magnitudes=(1.0, 0.5))
    return (st.none() | states) if allow_none else states


def memory_layouts() -> st.SearchStrategy[MemoryLayout]:
    """How tensors are laid out in memory: contiguous, a transposed view, or strided.

    Shrinks towards contiguous. The values never change, only the strides.
    """
    return st.sampled_from(MEMORY_LAYOUTS)


def rnn_cases(
    *,
    configs: st.SearchStrategy[RNNConfig] | None = None,
    dtypes: Sequence[str] = ("float32", "float64"),
    seq_lens: st.SearchStrategy[int] | None = None,
    batches: st.SearchStrategy[int | None] | None = None,
    allow_none_hx: bool = True,
    layouts: st.SearchStrategy[MemoryLayout] | None = None,
) -> st.SearchStrategy[RNNCase]:
    """Complete :class:`RNNCase` values: config, then dtype, sizes, input, hx, weights.

    Each part shrinks as its own strategy does, so a minimal failure has the smallest
    config, shortest sequence, smallest batch and simplest values that still fail.

    >>> case = rnn_cases(dtypes=("float64",)).example()
    >>> case.params.keys() == set(case.config.parameter_names())
    True
    """
    _check_choices("dtypes", dtypes, FLOAT_DTYPES)
    configs = rnn_configs() if configs is None else configs
    seq_lens = sequence_lengths() if seq_lens is None else seq_lens
    batches = batch_sizes() if batches is None else batches
    layouts = st.just("contiguous") if layouts is None else layouts

    @st.composite
    def draw_case(draw: st.DrawFn) -> RNNCase:
        config = draw(configs)
        dtype = draw(st.sampled_from(list(dtypes)))
        seq_len = draw(seq_lens)
        batch_size = draw(batches)
        shape = config.input_shape(seq_len, batch_size)
        return RNNCase(
            config=config,
            dtype=dtype,
            seq_len=seq_len,
            batch_size=batch_size,
            input=draw(float_arrays(shape, dtype=dtype)),
            hx=draw(hidden_states(config, batch_size, dtype=dtype, allow_none=allow_none_hx)),
            params=draw(rnn_parameters(config, dtype=dtype)),
            memory_layout=draw(layouts),
        )

    return draw_case()
