"""The conventions of the strategy functions: validated arguments and Hypothesis-style reprs.

Strategy functions check their arguments when called, as Hypothesis' own do (a bad one
raises ``InvalidArgument`` naming it), and return strategies that print as the call that
made them. Nothing here is specific to recurrent modules beyond the checks' vocabulary.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Collection, Sequence
from numbers import Real
from typing import Any, ParamSpec, TypeVar

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from rnn_conformance.generation.capabilities import CAPABILITIES
from rnn_conformance.generation.drawing import USES, Uses
from rnn_conformance.numerics.config import RNNConfig
from rnn_conformance.numerics.dtypes import FLOAT_DTYPES

__all__ = [
    "check_bool",
    "check_capabilities",
    "check_choices",
    "check_config",
    "check_dtype",
    "check_int",
    "check_numbers",
    "check_range",
    "check_strategy",
    "check_uses",
    "defines_strategy",
]

_P = ParamSpec("_P")
_T = TypeVar("_T")


# -- the strategy functions' conventions ----------------------------------------------------


class Call:
    """One call of a strategy function: its arguments as the repr shows them, and its result."""

    __slots__ = ("arguments", "strategy")

    def __init__(self, arguments: str, strategy: st.SearchStrategy[Any]) -> None:
        self.arguments = arguments
        self.strategy = strategy

    def __repr__(self) -> str:
        return self.arguments


def defines_strategy(
    build: Callable[_P, st.SearchStrategy[_T]],
) -> Callable[_P, st.SearchStrategy[_T]]:
    """Give a strategy function the repr of Hypothesis' own, through public API only.

    Calling the decorated function runs ``build`` at once, so invalid arguments raise at
    the call; what it composes are Hypothesis strategies, which stay lazy until drawn
    from. The result is drawn through an ``st.composite`` named like ``build``, which
    prints as the call: positional arguments, then the keyword arguments that are not
    the defaults (``rnn_configs(max_layers=2)``), as Hypothesis prints its own.
    """
    signature = inspect.signature(build)

    # ``name`` is never passed. As a default it gives each strategy function's examples
    # their own Hypothesis label (labels derive from a function's code and defaults).
    def draw_from(draw: st.DrawFn, *call: Call, name: str = build.__name__) -> Any:
        return draw(call[0].strategy)

    draw_from.__name__ = draw_from.__qualname__ = build.__name__
    wrap = st.composite(draw_from)

    @functools.wraps(build)
    def strategy_function(*args: _P.args, **kwargs: _P.kwargs) -> st.SearchStrategy[_T]:
        strategy = build(*args, **kwargs)
        shown = []
        for name, value in signature.bind(*args, **kwargs).arguments.items():
            parameter = signature.parameters[name]
            if parameter.kind is not parameter.KEYWORD_ONLY:
                shown.append(repr(value))
            elif value is not parameter.default:
                shown.append(f"{name}={value!r}")
        return wrap(Call(", ".join(shown), strategy))

    return strategy_function


def check_int(name: str, value: object, *, at_least: int) -> int:
    """``value`` as an int of at least ``at_least``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgument(f"{name}={value!r} must be an int, not {type(value).__name__}")
    if value < at_least:
        raise InvalidArgument(f"{name}={value} must be at least {at_least}")
    return value


def check_range(
    min_name: str, min_value: object, max_name: str, max_value: object, *, at_least: int
) -> tuple[int, int]:
    """A ``min_``/``max_`` pair, each an int of at least ``at_least``, in order."""
    low = check_int(min_name, min_value, at_least=at_least)
    high = check_int(max_name, max_value, at_least=at_least)
    if low > high:
        raise InvalidArgument(f"{min_name}={low} must be <= {max_name}={high}")
    return low, high


def check_bool(name: str, value: object) -> bool:
    """``value`` if it is True or False."""
    if not isinstance(value, bool):
        raise InvalidArgument(f"{name}={value!r} must be True or False")
    return value


def check_sequence(name: str, values: object, *, example: tuple[Any, ...]) -> tuple[Any, ...]:
    """``values`` as a tuple, if it is an ordered sequence and not a string."""
    if isinstance(values, str | bytes):
        raise InvalidArgument(
            f"{name}={values!r} is a string, not a sequence of values: "
            f"pass a sequence, e.g. {name}={example!r}"
        )
    if not isinstance(values, Sequence):
        raise InvalidArgument(
            f"{name}={values!r} must be a sequence such as a tuple, not {type(values).__name__}"
            " (its order decides what examples shrink towards)"
        )
    return tuple(values)


def check_choices(name: str, values: object, allowed: Sequence[str]) -> tuple[str, ...]:
    """A non-empty sequence (not a string) of names from ``allowed``."""
    example = (values,) if isinstance(values, str) and values in allowed else allowed[:1]
    choices = check_sequence(name, values, example=tuple(example))
    if not choices:
        raise InvalidArgument(f"{name} must not be empty")
    for value in choices:
        if not (isinstance(value, str) and value in allowed):
            raise InvalidArgument(f"{name} contains {value!r}; allowed: {list(allowed)}")
    return choices


def check_dtype(name: str, dtype: object) -> str:
    """A dtype name from the one table, :data:`rnn_conformance.numerics.dtypes.FLOAT_DTYPES`."""
    if not (isinstance(dtype, str) and dtype in FLOAT_DTYPES):
        raise InvalidArgument(f"{name}={dtype!r} is not one of {list(FLOAT_DTYPES)}")
    return dtype


def check_numbers(
    name: str,
    values: object,
    *,
    example: tuple[float, ...],
    rule: str,
    valid: Callable[[float], bool],
) -> tuple[float, ...]:
    """A non-empty sequence of real numbers within the given limits."""
    numbers = check_sequence(name, values, example=example)
    for value in numbers:
        if isinstance(value, bool) or not isinstance(value, Real) or not valid(float(value)):
            raise InvalidArgument(f"{name} contains {value!r}; each must be a number {rule}")
    return tuple(float(value) for value in numbers)


def check_strategy(name: str, value: object) -> None:
    """``value`` is a Hypothesis strategy, or None."""
    if value is not None and not isinstance(value, st.SearchStrategy):
        raise InvalidArgument(f"{name}={value!r} must be a Hypothesis strategy or None")


def check_config(config: object) -> RNNConfig:
    """``config`` is an :class:`~rnn_conformance.numerics.config.RNNConfig`."""
    if not isinstance(config, RNNConfig):
        raise InvalidArgument(f"config={config!r} must be an RNNConfig")
    return config


def check_capabilities(name: str, values: object) -> frozenset[str]:
    """A collection (not a string) of capability names.

    The names are those of :mod:`rnn_conformance.generation.capabilities`.
    """
    if isinstance(values, str | bytes) or not isinstance(values, Collection):
        raise InvalidArgument(
            f"{name}={values!r} must be a collection of capability names, "
            f"e.g. {name}={('bidirectional',)!r}"
        )
    for value in values:
        if not (isinstance(value, str) and value in CAPABILITIES):
            raise InvalidArgument(f"{name} contains {value!r}; allowed: {sorted(CAPABILITIES)}")
    return frozenset(values)


def check_uses(name: str, value: object) -> Uses:
    """Which targets' declarations apply: ``"module"``, ``"cell"`` or ``"both"``."""
    if value not in USES:
        raise InvalidArgument(f"{name}={value!r} must be one of {list(USES)}")
    return value  # type: ignore[return-value]
