"""Comparing a target's results with expected ones, and messages that locate a miss.

Results may be nested (``h_n`` is a tuple ``(h_n, c_n)`` for nn.LSTM): they are compared
recursively, in the spirit of ``torch.testing``'s pairs, and every message names the path
of the failing leaf (``h_n[1]``) and the axes of its worst element.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from rnn_conformance.numerics.tolerances.precision import SAFETY

__all__ = [
    "Mismatch",
    "ToleranceError",
    "assert_identical",
    "assert_within",
    "find_mismatch",
    "leaves",
]


@dataclass(frozen=True)
class Mismatch:
    """Where and by how much ``actual`` leaves the allowed band around ``expected``.

    ``nan_count`` counts the elements where exactly one of the two is NaN (their error
    is not a number, so they are reported apart); ``first_nan_index`` is the first of
    them in row-major order. ``index`` is the worst of the other failing elements
    relative to its bound, or the first NaN one when every failing element is NaN; the
    largest absolute and relative errors are over the elements that are not NaN.
    """

    what: str
    count: int
    total: int
    index: tuple[int, ...]
    axes: tuple[str, ...]
    actual: float
    expected: float
    allowed: float
    max_abs_error: float
    max_abs_index: tuple[int, ...]
    max_rel_error: float
    max_rel_index: tuple[int, ...]
    nan_count: int = 0
    first_nan_index: tuple[int, ...] | None = None
    first_nan_actual: float = float("nan")
    first_nan_expected: float = float("nan")

    def where(self, index: tuple[int, ...]) -> str:
        """Name each coordinate of ``index`` by its axis: ``(step=3, batch=0, unit=5)``."""
        return "(" + ", ".join(f"{a}={i}" for a, i in zip(self.axes, index, strict=False)) + ")"

    def __str__(self) -> str:
        head = f"{self.what}: {self.count} of {self.total} elements outside tolerance"
        errors = (
            f"largest absolute error {self.max_abs_error:.3e} at "
            f"{self.where(self.max_abs_index)}; largest relative error "
            f"{self.max_rel_error:.3e} at {self.where(self.max_rel_index)}"
        )
        worst = (
            f"at {self.where(self.index)}: actual={self.actual!r}, "
            f"expected={self.expected!r}, |error|={abs(self.actual - self.expected):.3e}, "
            f"allowed={self.allowed:.3e}."
        )
        if not self.nan_count:
            return f"{head}; worst relative to its bound {worst}\n  {errors}"
        assert self.first_nan_index is not None
        nan_side = "actual" if np.isnan(self.first_nan_actual) else "expected"
        other_side = "expected" if nan_side == "actual" else "actual"
        nans = (
            f"{head}; {self.nan_count} of them NaN in {nan_side} but not in {other_side}, "
            f"the first at {self.where(self.first_nan_index)}: "
            f"actual={self.first_nan_actual!r}, expected={self.first_nan_expected!r}."
        )
        if self.count == self.nan_count:
            if self.nan_count == self.total:
                return nans
            return f"{nans}\n  The elements that are not NaN are within tolerance ({errors})."
        return f"{nans}\n  Of the rest, worst relative to its bound {worst}\n  {errors}"


def find_mismatch(
    actual: NDArray[Any],
    expected: NDArray[Any],
    allowed: NDArray[Any] | float,
    *,
    what: str,
    axes: tuple[str, ...],
) -> Mismatch | None:
    """Return the :class:`Mismatch` of ``actual`` against ``expected``, or ``None``.

    An element fails when ``|actual - expected| > allowed`` or when exactly one of the
    two is NaN. ``allowed`` of 0 demands bitwise-equal values.

    >>> find_mismatch(np.array([1.0, 2.0]), np.array([1.0, 2.5]), 0.1,
    ...               what="output", axes=("unit",)).index
    (1,)
    >>> m = find_mismatch(np.array([np.nan, 2.0]), np.array([1.0, 2.0]), 0.1,
    ...                   what="h_n", axes=("unit",))
    >>> m.nan_count, m.first_nan_index
    (1, (0,))
    """
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    if actual.shape != expected.shape:
        raise ValueError(f"{what}: shape {actual.shape} != expected {expected.shape}")
    allowed_arr = np.broadcast_to(np.asarray(allowed, dtype=np.float64), expected.shape)
    nan = np.isnan(actual) != np.isnan(expected)
    with np.errstate(invalid="ignore", over="ignore"):
        error = np.abs(actual - expected)
        both_nan = np.isnan(actual) & np.isnan(expected)
        same_inf = np.isinf(expected) & (actual == expected)
        error = np.where(both_nan | same_inf, 0.0, error)
        # NaN compares false with any bound, so it is failed explicitly; its error stays
        # out of the statistics below, where it would read as "inf" or "nan".
        bad = nan | (error > allowed_arr)
        error = np.where(nan, -1.0, error)
    if not bad.any():
        return None
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(bad & ~nan, error / np.maximum(allowed_arr, np.finfo(float).tiny), -1.0)
        relative = np.where(nan, -1.0, error / np.maximum(np.abs(expected), np.finfo(float).tiny))
    as_tuple = lambda index: tuple(int(i) for i in index)  # noqa: E731
    first_nan = as_tuple(np.argwhere(nan)[0]) if nan.any() else None
    if (bad & ~nan).any():
        worst = np.unravel_index(int(np.argmax(ratio)), ratio.shape)
    else:
        worst = first_nan
    abs_index = np.unravel_index(int(np.argmax(error)), error.shape)
    rel_index = np.unravel_index(int(np.argmax(relative)), relative.shape)
    return Mismatch(
        what=what,
        count=int(bad.sum()),
        total=int(bad.size),
        index=as_tuple(worst),
        axes=axes,
        actual=float(actual[worst]),
        expected=float(expected[worst]),
        allowed=float(allowed_arr[worst]),
        max_abs_error=max(float(error[abs_index]), 0.0),
        max_abs_index=as_tuple(abs_index),
        max_rel_error=max(float(relative[rel_index]), 0.0),
        max_rel_index=as_tuple(rel_index),
        nan_count=int(nan.sum()),
        first_nan_index=first_nan,
        first_nan_actual=float("nan") if first_nan is None else float(actual[first_nan]),
        first_nan_expected=float("nan") if first_nan is None else float(expected[first_nan]),
    )


class ToleranceError(AssertionError):
    """A comparison failed; the message locates the worst element and states the bound."""

    def __init__(self, mismatch: Mismatch, context: str = "") -> None:
        self.mismatch = mismatch
        super().__init__(f"{context}\n{mismatch}" if context else str(mismatch))


Nested = Any
"""An array, or a tuple or list of ``Nested`` (``(h_n, c_n)``)."""


def leaves(value: Nested, path: str) -> list[tuple[str, Any]]:
    """The arrays of a nested result with their paths, depth first.

    >>> [p for p, _ in leaves((np.zeros(1), (np.zeros(1), np.zeros(1))), "h_n")]
    ['h_n[0]', 'h_n[1][0]', 'h_n[1][1]']
    """
    if isinstance(value, tuple | list):
        return [leaf for i, item in enumerate(value) for leaf in leaves(item, f"{path}[{i}]")]
    return [(path, value)]


def _pairs(
    actual: Nested, expected: Nested, bound: Nested | float, path: str
) -> list[tuple[str, Any, Any, Any]]:
    """Leaves of ``actual`` and ``expected`` side by side; their structures must agree."""
    __tracebackhide__ = True
    if isinstance(expected, tuple | list):
        if not isinstance(actual, tuple | list) or len(actual) != len(expected):
            got = (
                f"a {type(actual).__name__} of {len(actual)}"
                if isinstance(actual, tuple | list)
                else f"a single {type(actual).__name__}"
            )
            raise AssertionError(f"{path}: expected a tuple of {len(expected)} results, got {got}")
        bounds = bound if isinstance(bound, tuple | list) else [bound] * len(expected)
        return [
            pair
            for i, (a, e, b) in enumerate(zip(actual, expected, bounds, strict=True))
            for pair in _pairs(a, e, b, f"{path}[{i}]")
        ]
    if isinstance(actual, tuple | list):
        raise AssertionError(
            f"{path}: expected a single result, got a {type(actual).__name__} of {len(actual)}"
        )
    return [(path, actual, expected, bound)]


def _check_leaves(
    actual: Nested,
    expected: Nested,
    bound: Nested | float,
    what: str,
    axes: tuple[str, ...],
    context: str,
    allowed_of: Callable[[Any], Any],
) -> float:
    __tracebackhide__ = True
    worst = 0.0
    for path, a, e, b in _pairs(actual, expected, bound, what):
        allowed = allowed_of(b)
        mismatch = find_mismatch(a, e, allowed, what=path, axes=axes)
        if mismatch is not None:
            raise ToleranceError(mismatch, context)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.abs(np.asarray(a, np.float64) - e) / allowed
        ratio = np.nan_to_num(ratio, nan=0.0, posinf=0.0)
        worst = max(worst, float(np.max(ratio, initial=0.0)))
    return worst


def assert_within(
    actual: Nested,
    expected: Nested,
    bound: Nested | float,
    *,
    what: str,
    axes: tuple[str, ...],
    factor: float = 1.0,
    context: str = "",
) -> float:
    """Assert ``|actual - expected| <= factor * SAFETY * bound`` elementwise.

    The three may be nested alike (``bound`` may also be one number for all); a failure
    names the leaf's path, ``h_n[1]``. Returns the largest ratio of error to allowed
    error (0 when all equal), for ``hypothesis.target``. ``factor=2`` is the policy for
    two runs of the target.

    >>> assert_within((np.ones(2), np.zeros(2)), (np.ones(2), np.zeros(2)), 1e-9,
    ...               what="h_n", axes=("unit",))
    0.0
    """
    __tracebackhide__ = True
    return _check_leaves(
        actual,
        expected,
        bound,
        what,
        axes,
        context,
        lambda b: factor * SAFETY * np.asarray(b, dtype=np.float64),
    )


def assert_identical(
    actual: Nested,
    expected: Nested,
    *,
    what: str,
    axes: tuple[str, ...],
    context: str = "",
) -> None:
    """Assert bitwise-equal values (NaN equal to NaN), leaf by leaf: for exact identities."""
    __tracebackhide__ = True
    _check_leaves(actual, expected, 0.0, what, axes, context, lambda b: b)
