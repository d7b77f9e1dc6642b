"""Public Hypothesis strategies for RNN configurations, inputs, hidden states and weights.

Everything here is independent of pytest and of the target: import these into your own
Hypothesis tests. All values are float64 NumPy arrays holding numbers *exactly
representable in the requested dtype*, so a float32 module and the float64 reference
see identical inputs.

The strategy functions follow Hypothesis' own conventions. Sizes are bounded by
``min_*``/``max_*`` arguments, so there is no need to ``.filter()`` them, and every example
shrinks towards the smallest value the bounds allow. Arguments are validated when the
function is called: a bad one raises ``InvalidArgument`` naming it. The strategy returned
prints as the call that made it, with the arguments that differ from the defaults.

Declared gaps are never drawn. The strategies that draw a dtype, an input rank or a
configuration take ``unsupported`` (capability names of
:mod:`rnn_conformance.generation.capabilities`) and never draw a value needing one of them:
no float64 for ``float64``, no unbatched input for ``unbatched``, no ``bias=False`` for
``without_bias``, no ``proj_size > 0`` for ``projection``, no ``bidirectional=True`` for
``bidirectional``. Nothing is filtered: the value is simply not among the choices. The
default, ``unsupported=None``, is what the running property's subject's targets declared
(:func:`~rnn_conformance.generation.drawing.current_unsupported`; ``uses`` says which: the
module target's, the cell target's or both), looked up when drawing; outside the suite's
properties nothing is declared, so nothing is gated. Likewise ``family=None`` draws the
running subject's family (nn.RNN's outside the suite). Where the declarations leave nothing
to draw (``rnn_configs(bidirectional=True)`` for a target without ``bidirectional``),
drawing raises ``unittest.SkipTest`` naming the capability, which pytest and unittest report
as a skip: a property is skipped, never passed vacuously.

Example:
    >>> from hypothesis import given
    >>> from rnn_conformance.generation.strategies import rnn_cases
    >>> @given(rnn_cases(dtypes=("float32",)))
    ... def test_shapes(case):
    ...     assert case.input.shape == case.config.input_shape(case.seq_len, case.batch_size)
    >>> rnn_cases(dtypes=("float32",))
    rnn_cases(dtypes=('float32',))

"""

from __future__ import annotations

import math
import unittest
from collections.abc import Collection, Sequence
from typing import Any, NoReturn

import numpy as np
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from hypothesis.extra import numpy as xnp

from rnn_conformance.generation.capabilities import skip_reason
from rnn_conformance.generation.cases import MEMORY_LAYOUTS, MemoryLayout, RNNCase
from rnn_conformance.generation.drawing import Uses, current_family, current_unsupported
from rnn_conformance.generation.strategy_arguments import (
    check_bool as _check_bool,
)
from rnn_conformance.generation.strategy_arguments import (
    check_capabilities as _check_capabilities,
)
from rnn_conformance.generation.strategy_arguments import (
    check_choices as _check_choices,
)
from rnn_conformance.generation.strategy_arguments import (
    check_config as _check_config,
)
from rnn_conformance.generation.strategy_arguments import (
    check_dtype as _check_dtype,
)
from rnn_conformance.generation.strategy_arguments import (
    check_int as _check_int,
)
from rnn_conformance.generation.strategy_arguments import (
    check_numbers as _check_numbers,
)
from rnn_conformance.generation.strategy_arguments import (
    check_range as _check_range,
)
from rnn_conformance.generation.strategy_arguments import (
    check_strategy as _check_strategy,
)
from rnn_conformance.generation.strategy_arguments import (
    check_uses as _check_uses,
)
from rnn_conformance.generation.strategy_arguments import (
    defines_strategy as _defines_strategy,
)
from rnn_conformance.numerics.arithmetic import Array
from rnn_conformance.numerics.config import RNNConfig
from rnn_conformance.numerics.dtypes import FLOAT_DTYPES
from rnn_conformance.numerics.families import Family, family_named

__all__ = [
    "FLOAT_DTYPES",
    "MAGNITUDES",
    "MEMORY_LAYOUTS",
    "MemoryLayout",
    "RNNCase",
    "RNNConfig",
    "batch_sizes",
    "config_flags",
    "dtype_names",
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

MAGNITUDES = (1.0, 0.01, 4.0, 30.0)
"""Input scales: unit, tiny, saturating tanh, and relu pre-activations well above 6."""


def _check_flag(name: str, value: object) -> bool | None:
    if value is not None and not isinstance(value, bool):
        raise InvalidArgument(f"{name}={value!r} must be True, False or None (both)")
    return value


# -- declared gaps --------------------------------------------------------------------------


class _Gaps:
    """The capabilities a strategy must not draw: given, or the session's, read when drawing."""

    __slots__ = ("given", "uses")

    def __init__(self, given: frozenset[str] | None, uses: Uses) -> None:
        self.given = given
        self.uses = uses

    def __call__(self) -> frozenset[str]:
        return current_unsupported(self.uses) if self.given is None else self.given


def _check_gaps(unsupported: object, uses: object) -> _Gaps:
    role = _check_uses("uses", uses)
    if unsupported is None:
        return _Gaps(None, role)
    if role != "module":
        raise InvalidArgument(
            f"uses={role!r} selects the session's declarations, which "
            f"unsupported={unsupported!r} replaces: pass one or the other"
        )
    return _Gaps(_check_capabilities("unsupported", unsupported), role)


def _nothing_to_draw(missing: Collection[str], what: str) -> NoReturn:
    raise unittest.SkipTest(f"{skip_reason(missing)}: {what} leaves nothing to draw")


_FLAGS: dict[str, tuple[bool, str | None]] = {
    "bias": (True, "without_bias"),
    "batch_first": (False, None),
    "bidirectional": (False, "bidirectional"),
}
"""Each flag of the constructor: nn's default, and the capability the other value needs."""


def _draw_flag(draw: st.DrawFn, name: str, value: bool | None, gaps: frozenset[str]) -> bool:
    default, capability = _FLAGS[name]
    if capability is not None and capability in gaps:
        if value is (not default):
            _nothing_to_draw({capability}, f"{name}={value}")
        return default
    if value is not None:
        return value
    # Drawn as "not the default?", so that it shrinks to nn's default.
    return default != draw(st.booleans())


@st.composite
def _flag(draw: st.DrawFn, name: str, value: bool | None, gaps: _Gaps) -> bool:
    return _draw_flag(draw, name, value, gaps())


@_defines_strategy
def config_flags(
    name: str,
    value: bool | None = None,
    *,
    unsupported: Collection[str] | None = None,
    uses: Uses = "module",
) -> st.SearchStrategy[bool]:
    """A flag of the constructor (``bias``, ``batch_first``, ``bidirectional``), drawn.

    ``value`` fixes it; ``None`` draws it, shrinking to nn's default (``bias=True``,
    ``batch_first=False``, ``bidirectional=False``). The value a declared gap needs
    (``bias=False`` for ``without_bias``, ``bidirectional=True`` for ``bidirectional``) is
    never drawn; fixed, drawing it raises ``unittest.SkipTest``. For hand-built
    configurations in custom strategies.

    >>> config_flags("bidirectional", unsupported=("bidirectional",)).example()
    False
    >>> config_flags("bias", True)
    config_flags('bias', True)
    """
    if name not in _FLAGS:
        raise InvalidArgument(f"name={name!r} must be one of {list(_FLAGS)}")
    return _flag(name, _check_flag(name, value), _check_gaps(unsupported, uses))


def _draw_dtype(draw: st.DrawFn, choices: tuple[str, ...], gaps: frozenset[str]) -> str:
    allowed = tuple(dtype for dtype in choices if dtype not in gaps)
    if not allowed:
        _nothing_to_draw(set(choices), f"dtypes={choices!r}")
    return draw(st.sampled_from(allowed))


@st.composite
def _dtypes(draw: st.DrawFn, choices: tuple[str, ...], gaps: _Gaps) -> str:
    return _draw_dtype(draw, choices, gaps())


@_defines_strategy
def dtype_names(
    dtypes: Sequence[str] = ("float32", "float64"),
    *,
    unsupported: Collection[str] | None = None,
    uses: Uses = "module",
) -> st.SearchStrategy[str]:
    """A dtype name from ``dtypes``, never one declared unsupported; shrinks towards the first.

    When every one is declared unsupported, drawing raises ``unittest.SkipTest``.

    >>> dtype_names(unsupported=("float64",)).example()
    'float32'
    >>> dtype_names(("float16", "bfloat16"))
    dtype_names(('float16', 'bfloat16'))
    """
    return _dtypes(_check_choices("dtypes", dtypes, FLOAT_DTYPES), _check_gaps(unsupported, uses))


# -- sizes ----------------------------------------------------------------------------------


def _mostly_small(min_value: int, max_value: int, typical: int) -> st.SearchStrategy[int]:
    small = st.integers(min_value, min(max_value, max(typical, min_value)))
    if typical >= max_value:
        return small
    return st.one_of(small, small, small, st.integers(min_value, max_value))


def _sizes(
    min_name: str,
    min_value: int,
    max_name: str,
    max_value: int,
    *,
    at_least: int,
    typical: int,
) -> st.SearchStrategy[int]:
    low, high = _check_range(min_name, min_value, max_name, max_value, at_least=at_least)
    return _mostly_small(low, high, _check_int("typical", typical, at_least=0))


@_defines_strategy
def mostly_small(max_value: int, *, typical: int, min_value: int = 1) -> st.SearchStrategy[int]:
    """Integers in ``[min_value, max_value]``, three times in four at most ``typical``.

    When ``min_value`` exceeds ``typical``, three times in four exactly ``min_value``.
    Shrinks towards ``min_value``. Keeps most examples cheap while still reaching the
    large sizes where blocking and vectorisation bugs live.

    >>> mostly_small(64, typical=8).example() <= 64
    True
    >>> mostly_small(64, typical=8, min_value=4)
    mostly_small(64, typical=8, min_value=4)
    """
    return _sizes("min_value", min_value, "max_value", max_value, at_least=0, typical=typical)


@_defines_strategy
def sequence_lengths(
    *, min_len: int = 1, max_len: int = 64, typical: int = 12
) -> st.SearchStrategy[int]:
    """Sequence lengths in ``[min_len, max_len]``, mostly at most ``typical``.

    Shrinks towards ``min_len``.

    >>> 2 <= sequence_lengths(min_len=2, max_len=5).example() <= 5
    True
    """
    return _sizes("min_len", min_len, "max_len", max_len, at_least=1, typical=typical)


@st.composite
def _batches(
    draw: st.DrawFn,
    sizes: st.SearchStrategy[int],
    specials: tuple[int | None, ...],
    gaps: _Gaps,
) -> int | None:
    if "unbatched" in gaps():
        specials = tuple(size for size in specials if size is not None)
        if not specials:
            return draw(sizes)
    # A sized batch is picked twice as often as each of 0 and None. The pick comes first
    # and the size is drawn every time, even for 0 and None, so that every example makes
    # the same number of choices: Hypothesis counts fewer choices as simpler, and would
    # otherwise shrink towards 0 and None rather than towards min_size.
    pick = draw(st.sampled_from(range(2 + len(specials))))
    size = draw(sizes)
    return size if pick < 2 else specials[pick - 2]


@_defines_strategy
def batch_sizes(
    *,
    min_size: int = 1,
    max_size: int = 16,
    allow_unbatched: bool = True,
    allow_empty: bool = True,
    unsupported: Collection[str] | None = None,
    uses: Uses = "module",
) -> st.SearchStrategy[int | None]:
    """Batch sizes: ``min_size..max_size``, plus ``0`` (an empty batch) and ``None`` (unbatched).

    ``min_size`` and ``max_size`` bound the non-empty batches, mostly at most 5;
    ``allow_empty`` adds 0 and ``allow_unbatched`` adds ``None`` (2-D input), each half
    as often as a sized batch. ``None`` is never drawn where ``unbatched`` is declared
    unsupported (``unsupported``, ``uses``: see the module's docstring). Shrinks towards
    ``min_size``; 0 and ``None`` remain in a minimal example only when it needs them.

    >>> batch_sizes(min_size=2, allow_unbatched=False, allow_empty=False).example() >= 2
    True
    >>> batch_sizes(min_size=2, allow_unbatched=False, allow_empty=False)
    batch_sizes(min_size=2, allow_unbatched=False, allow_empty=False)
    """
    sizes = _sizes("min_size", min_size, "max_size", max_size, at_least=1, typical=5)
    specials: tuple[int | None, ...] = ()
    if _check_bool("allow_empty", allow_empty):
        specials += (0,)
    if _check_bool("allow_unbatched", allow_unbatched):
        specials += (None,)
    gaps = _check_gaps(unsupported, uses)
    return _batches(sizes, specials, gaps) if specials else sizes


# -- configurations -------------------------------------------------------------------------


@st.composite
def _configs(
    draw: st.DrawFn,
    *,
    layers: st.SearchStrategy[int],
    dropouts: st.SearchStrategy[float] | None,
    input_sizes: st.SearchStrategy[int],
    hidden_sizes: st.SearchStrategy[int],
    relu: bool | None,
    bias: bool | None,
    batch_first: bool | None,
    bidirectional: bool | None,
    family: Family | None,
    projections: bool,
    own_arguments: bool,
    gaps: _Gaps,
) -> RNNConfig:
    family = current_family() if family is None else family
    lacks = gaps()
    if relu and family.relu_options is None:
        _no_relu(family)
    num_layers = draw(layers)
    # nn.RNN warns about dropout on a single layer: there is no layer after it to drop to.
    dropout = draw(dropouts) if num_layers > 1 and dropouts is not None else 0.0
    input_size, hidden_size = draw(input_sizes), draw(hidden_sizes)
    shared = dict(
        bias=_draw_flag(draw, "bias", bias, lacks),
        batch_first=_draw_flag(draw, "batch_first", batch_first, lacks),
        dropout=dropout,
        bidirectional=_draw_flag(draw, "bidirectional", bidirectional, lacks),
    )
    own = (
        family.option_strategy(hidden_size, unsupported=lacks, relu=relu, projections=projections)
        if own_arguments
        else st.just({})
    )
    return RNNConfig(input_size, hidden_size, num_layers, family=family, **shared, **draw(own))


def _no_relu(family: Family) -> NoReturn:
    raise unittest.SkipTest(f"{family.title} has no relu mode: relu=True leaves nothing to draw")


@_defines_strategy
def rnn_configs(
    *,
    min_input_size: int = 1,
    max_input_size: int = 64,
    min_hidden_size: int = 1,
    max_hidden_size: int = 80,
    min_layers: int = 1,
    max_layers: int = 3,
    relu: bool | None = None,
    bias: bool | None = None,
    batch_first: bool | None = None,
    bidirectional: bool | None = None,
    dropouts: Sequence[float] = (0.0, 0.5),
    family: str | Family | None = None,
    projections: bool = True,
    own_arguments: bool = True,
    unsupported: Collection[str] | None = None,
    uses: Uses = "module",
) -> st.SearchStrategy[RNNConfig]:
    """Valid configurations (:class:`RNNConfig`) of ``family``'s module within the given bounds.

    Sizes lie within their ``min_*``/``max_*`` bounds, mostly small (input <= 8, hidden
    <= 16, layers <= 2, or the minimum where that is larger) and sometimes reaching the
    maxima. ``bias``, ``batch_first`` and ``bidirectional`` are fixed when given and
    drawn when ``None``. Dropout is drawn from ``dropouts`` only for ``num_layers > 1``
    (nn.RNN warns otherwise), and is 0.0 when ``dropouts`` is empty. ``family`` is a family
    of :mod:`rnn_conformance.numerics.families` or its name; ``None`` is the running subject's
    (nn.RNN's outside the suite's properties), looked up when drawing. The family draws its
    own arguments (:meth:`~rnn_conformance.numerics.families.Family.option_strategy`): nn.RNN's
    ``nonlinearity`` (tanh or relu), nn.LSTM's ``proj_size`` in ``[0, hidden_size)``, half
    the time 0, shrinking to its default. ``relu=True`` draws only a family's relu mode
    (nn.RNN's ``nonlinearity='relu'``; a family without one raises ``unittest.SkipTest``
    when drawn), ``relu=False`` never, for claims that need a smooth recurrence;
    ``projections=False`` never draws a projection of ``h``, for claims that hold only
    without one; ``own_arguments=False`` keeps the family's own arguments at their
    defaults.

    A declared gap (``unsupported``, ``uses``: see the module's docstring) is never
    drawn: ``bias`` stays True for ``without_bias``, ``proj_size`` 0 for ``projection``,
    ``bidirectional`` False for ``bidirectional``; a value fixed against the declarations
    (``bidirectional=True`` for a target without it) raises ``unittest.SkipTest`` when
    drawn.

    Shrinks towards the smallest config the arguments allow: the minimum sizes, the
    family's default arguments (tanh), bias on, sequence-first, unidirectional, the
    smallest dropout; with the defaults, ``RNNConfig(1, 1)``.

    Combine with ``|`` rather than filter: the configs whose outputs are causal (one
    layer in either direction, or several forwards only) are
    ``rnn_configs(max_layers=1) | rnn_configs(min_layers=2, bidirectional=False)``.

    >>> cfg = rnn_configs(min_layers=2, bidirectional=True).example()
    >>> (cfg.num_layers >= 2, cfg.bidirectional)
    (True, True)
    >>> rnn_configs(unsupported=("bidirectional",)).example().bidirectional
    False
    >>> rnn_configs(min_layers=3, max_layers=2)
    Traceback (most recent call last):
    ...
    hypothesis.errors.InvalidArgument: min_layers=3 must be <= max_layers=2
    """
    input_sizes = _sizes(
        "min_input_size", min_input_size, "max_input_size", max_input_size, at_least=1, typical=8
    )
    hidden_sizes = _sizes(
        "min_hidden_size",
        min_hidden_size,
        "max_hidden_size",
        max_hidden_size,
        at_least=1,
        typical=16,
    )
    layers = _sizes("min_layers", min_layers, "max_layers", max_layers, at_least=1, typical=2)
    try:
        chosen = family_named(family) if family is not None else None
    except ValueError as exc:
        raise InvalidArgument(f"family={family!r}: {exc}") from None
    dropout_values = _check_numbers(
        "dropouts", dropouts, example=(0.0, 0.5), rule="in [0, 1]", valid=lambda p: 0 <= p <= 1
    )
    return _configs(
        layers=layers,
        dropouts=st.sampled_from(sorted(dropout_values)) if dropout_values else None,
        input_sizes=input_sizes,
        hidden_sizes=hidden_sizes,
        relu=_check_flag("relu", relu),
        bias=_check_flag("bias", bias),
        batch_first=_check_flag("batch_first", batch_first),
        bidirectional=_check_flag("bidirectional", bidirectional),
        family=chosen,
        projections=_check_bool("projections", projections),
        own_arguments=_check_bool("own_arguments", own_arguments),
        gaps=_check_gaps(unsupported, uses),
    )


# -- values ---------------------------------------------------------------------------------


def round_to_dtype(values: Any, dtype: str) -> Array:
    """Round float64 values to the nearest ``dtype`` number (round-half-even), as float64.

    Supports float64, float32, float16 and bfloat16 (the last via float32 bit patterns,
    since NumPy has no bfloat16).

    >>> float(round_to_dtype(np.array(1 + 2**-12), "bfloat16")[()])
    1.0
    """
    _check_dtype("dtype", dtype)
    array = np.asarray(values, dtype=np.float64)
    if dtype == "bfloat16":
        bits = array.astype(np.float32).view(np.uint32).astype(np.uint64)
        # NumPy scalars, not Python ints: NumPy 1.24 has no uint64 >> int for 0-d arrays.
        one, half, shift = np.uint64(1), np.uint64(0x7FFF), np.uint64(16)
        rounded = (bits + half + ((bits >> shift) & one)) >> shift << shift
        return rounded.astype(np.uint32).view(np.float32).astype(np.float64)
    return array.astype(dtype).astype(np.float64)


@st.composite
def _scaled(
    draw: st.DrawFn,
    base: st.SearchStrategy[Array],
    *,
    shape: tuple[int, ...],
    dtype: str,
    magnitudes: tuple[float, ...],
) -> Array:
    values = draw(base)
    if draw(st.booleans()):
        seed = draw(st.integers(0, 2**32 - 1))
        values = values + np.random.default_rng(seed).uniform(-1.0, 1.0, shape)
    scale = draw(st.sampled_from(magnitudes))
    return round_to_dtype(scale * values, dtype)


def _float_arrays(
    shape: tuple[int, ...], dtype: str, magnitudes: tuple[float, ...]
) -> st.SearchStrategy[Array]:
    elements = st.floats(-1.0, 1.0, width=32 if dtype != "float64" else 64)
    base = xnp.arrays(np.float64, shape, elements=elements)
    return _scaled(base, shape=shape, dtype=dtype, magnitudes=magnitudes)


def _check_shape(shape: object) -> tuple[int, ...]:
    if not isinstance(shape, tuple | list) or not all(
        isinstance(side, int) and not isinstance(side, bool) and side >= 0 for side in shape
    ):
        raise InvalidArgument(f"shape={shape!r} must be a tuple of non-negative ints")
    return tuple(shape)


@_defines_strategy
def float_arrays(
    shape: tuple[int, ...],
    *,
    dtype: str = "float32",
    magnitudes: Sequence[float] = MAGNITUDES,
) -> st.SearchStrategy[Array]:
    """Arrays of ``shape`` with values exactly representable in ``dtype``.

    A ``hypothesis.extra.numpy`` array in [-1, 1] (a fill value plus a sparse set of
    distinct elements), plus, optionally, dense uniform noise from a drawn seed, all
    scaled by a magnitude from ``magnitudes`` (finite, positive). Shrinks towards
    all-zero arrays at magnitude ``magnitudes[0]`` without noise; the minimal failing
    input is then a constant array with a few distinguished elements.

    >>> float_arrays((2, 3)).example().shape
    (2, 3)
    >>> float_arrays((2, 3), dtype="float64")
    float_arrays((2, 3), dtype='float64')
    """
    sides, name = _check_shape(shape), _check_dtype("dtype", dtype)
    scales = _check_numbers(
        "magnitudes",
        magnitudes,
        example=MAGNITUDES,
        rule="that is finite and positive",
        valid=lambda m: 0 < m < math.inf,
    )
    if not scales:
        raise InvalidArgument("magnitudes must not be empty")
    return _float_arrays(sides, name, scales)


def _parameters(config: RNNConfig, dtype: str) -> st.SearchStrategy[dict[str, Array]]:
    bound = 1.0 / math.sqrt(config.hidden_size)

    def build(seed: int) -> dict[str, Array]:
        rng = np.random.default_rng(seed)
        return {
            name: round_to_dtype(rng.uniform(-bound, bound, shape), dtype)
            for name, shape in config.parameter_shapes().items()
        }

    return st.integers(0, 2**32 - 1).map(build)


@_defines_strategy
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
    return _parameters(_check_config(config), _check_dtype("dtype", dtype))


def _hidden_states(
    config: RNNConfig, batch_size: int | None, dtype: str, allow_none: bool
) -> st.SearchStrategy[Any]:
    parts = [_float_arrays(shape, dtype, (1.0, 0.5)) for shape in config.state_shapes(batch_size)]
    # A state of several parts ((h_0, c_0)) is drawn whole or omitted whole, as hx is passed.
    states: st.SearchStrategy[Any] = parts[0] if len(parts) == 1 else st.tuples(*parts)
    if not allow_none:
        return states
    # A quarter None, shrinking to it: ``st.none() | states`` gave None in 60-80% of the
    # valid cases (a large state can overrun Hypothesis' buffer, a None never does), which
    # left every property that reads h_0 mostly unexercised.
    return st.integers(0, 3).flatmap(lambda pick: states if pick else st.none())


@_defines_strategy
def hidden_states(
    config: RNNConfig,
    batch_size: int | None,
    *,
    dtype: str = "float32",
    allow_none: bool = True,
) -> st.SearchStrategy[Array | None]:
    """Initial states ``h_0`` of shape (D * num_layers, [N,] H), or ``None``.

    For a family whose state has several parts (nn.LSTM's ``(h_0, c_0)``) a tuple with
    one array per part, each of its own shape, drawn together.

    ``batch_size`` is ``None`` for unbatched input. The arrays are :func:`float_arrays`
    at magnitude 1 or 0.5, so within [-2, 2], and shrink as theirs do. ``None`` (nn.RNN's
    zeros) comes first and is what it shrinks towards.

    >>> hidden_states(RNNConfig(2, 3, num_layers=2), 4, allow_none=False).example().shape
    (2, 4, 3)
    """
    if batch_size is not None:
        _check_int("batch_size", batch_size, at_least=0)
    return _hidden_states(
        _check_config(config),
        batch_size,
        _check_dtype("dtype", dtype),
        _check_bool("allow_none", allow_none),
    )


@_defines_strategy
def memory_layouts() -> st.SearchStrategy[MemoryLayout]:
    """How tensors are laid out in memory: contiguous, a transposed view, or strided.

    Shrinks towards contiguous. The values never change, only the strides.

    >>> memory_layouts()
    memory_layouts()
    """
    return st.sampled_from(MEMORY_LAYOUTS)


# -- complete cases -------------------------------------------------------------------------


@st.composite
def _cases(
    draw: st.DrawFn,
    *,
    configs: st.SearchStrategy[RNNConfig],
    dtypes: tuple[str, ...],
    seq_lens: st.SearchStrategy[int],
    batches: st.SearchStrategy[int | None],
    allow_none_hx: bool,
    layouts: st.SearchStrategy[MemoryLayout],
    gaps: _Gaps,
) -> RNNCase:
    lacks = gaps()
    if not any(dtype not in lacks for dtype in dtypes):
        _nothing_to_draw(set(dtypes), f"dtypes={dtypes!r}")
    config = draw(configs)
    dtype = _draw_dtype(draw, dtypes, lacks)
    seq_len = draw(seq_lens)
    batch_size = draw(batches)
    shape = config.input_shape(seq_len, batch_size)
    return RNNCase(
        config=config,
        dtype=dtype,
        seq_len=seq_len,
        batch_size=batch_size,
        input=draw(_float_arrays(shape, dtype, MAGNITUDES)),
        hx=draw(_hidden_states(config, batch_size, dtype, allow_none_hx)),
        params=draw(_parameters(config, dtype)),
        memory_layout=draw(layouts),
    )


@_defines_strategy
def rnn_cases(
    *,
    configs: st.SearchStrategy[RNNConfig] | None = None,
    dtypes: Sequence[str] = ("float32", "float64"),
    seq_lens: st.SearchStrategy[int] | None = None,
    batches: st.SearchStrategy[int | None] | None = None,
    allow_none_hx: bool = True,
    layouts: st.SearchStrategy[MemoryLayout] | None = None,
    unsupported: Collection[str] | None = None,
    uses: Uses = "module",
) -> st.SearchStrategy[RNNCase]:
    """Complete :class:`RNNCase` values: config, then dtype, sizes, input, hx, weights.

    ``configs``, ``seq_lens``, ``batches`` and ``layouts`` default to :func:`rnn_configs`,
    :func:`sequence_lengths` and :func:`batch_sizes` with their defaults, and contiguous
    tensors. The dtype is drawn from ``dtypes``; ``h_0`` may be ``None`` if
    ``allow_none_hx``. Each part shrinks as its own strategy does (the dtype towards
    ``dtypes[0]``), so a minimal failure has the smallest config, shortest sequence,
    smallest batch and simplest values that still fail.

    A declared gap (``unsupported``, ``uses``: see the module's docstring) is never
    drawn: not its dtype here, nor its rank or configuration in the default ``configs``
    and ``batches``. A strategy passed as ``configs`` or ``batches`` is gated by its own
    arguments: give it the same ``unsupported`` or ``uses``.

    >>> case = rnn_cases(dtypes=("float64",)).example()
    >>> case.params.keys() == set(case.config.parameter_names())
    True
    >>> rnn_cases(configs=rnn_configs(max_layers=1), dtypes=("float64",))
    rnn_cases(configs=rnn_configs(max_layers=1), dtypes=('float64',))
    >>> rnn_cases(unsupported=("float64", "unbatched")).example().dtype
    'float32'
    """
    for name, value in [
        ("configs", configs),
        ("seq_lens", seq_lens),
        ("batches", batches),
        ("layouts", layouts),
    ]:
        _check_strategy(name, value)
    gaps = _check_gaps(unsupported, uses)
    return _cases(
        configs=rnn_configs(unsupported=unsupported, uses=uses) if configs is None else configs,
        dtypes=_check_choices("dtypes", dtypes, FLOAT_DTYPES),
        seq_lens=sequence_lengths() if seq_lens is None else seq_lens,
        batches=batch_sizes(unsupported=unsupported, uses=uses) if batches is None else batches,
        allow_none_hx=_check_bool("allow_none_hx", allow_none_hx),
        layouts=st.just("contiguous") if layouts is None else layouts,
        gaps=gaps,
    )
