"""The one tolerance policy every property shares, and comparisons that explain misses.

Policy
------
A target computing in a dtype with unit roundoff ``u`` (2**-24 for float32, 2**-53
for float64, 2**-8 for bfloat16, ...) is compared with the float64 reference run on
*the same* weights, inputs and ``h_0`` (all rounded to the target dtype first, so the
only differences are rounding inside the computation). Every element may differ by
``SAFETY * bound``, where ``bound`` is computed alongside the reference:

* local rounding of one pre-activation ``a_j`` (a sum of ``n = fan_in + H + 2``
  products and biases, in any order, with or without FMA) is at most
  ``n * u * (|W_ih||x| + |W_hh||h| + |b_ih| + |b_hh|)_j`` (Higham's gamma_n); the
  nonlinearity adds ``2 * u * |h|`` for tanh (within an ulp in torch and NumPy) and
  nothing for relu; every operation may also lose the dtype's smallest normal number
  (gradual underflow, or kernels that flush subnormals to zero);
* a relu pre-activation within its own error bound of zero may have the other sign
  in the target, so it counts as active (its error passes through);
* these local errors are propagated through the *linearised* recurrence of the actual
  weights and states (``e_t = f'(a_t) * (W_ih e_in + W_hh e_{t-1}) + local_t``, layer
  by layer and direction by direction), with random signs at their worst-case
  magnitudes, by ``PROBES`` probes (fixed seed, so deterministic); one probe instead
  gives every error the sign of its value (biased rounding adds up linearly), and an
  element's spread is the larger of that probe and the others' RMS;
* ``bound`` is the probes' spread for the element, plus the mean of that over the
  element's units (so no element is small by chance), plus its own local error.

So the bound grows with fan-in, hidden size, sequence length and depth exactly as
far as this recurrence amplifies errors, and shrinks where tanh saturates. Measured
on nn.RNN float32 over random configurations (up to 96 units, 3 layers, 80 steps), the
largest error is below 0.1 of the bound; computing in bfloat16 inside a float32 module
exceeds it by 10x or more, and float32 inside a float64 module by far more (see
tests/test_tolerances.py). ``SAFETY = 2``. On CUDA with TF32 allowed, products carry
TF32's ``u = 2**-11`` instead (see :class:`Precision`).

Declared activation accuracy
----------------------------
Some kernels compute tanh by a fast approximation whose error is absolute, not
relative (ONNX Runtime's CPU RNN kernel: up to about 3 u, so near zero it is off by
thousands of ulps). Such a target fails the policy above, which is a true finding. A
target may declare the accuracy it promises (attribute
``rnn_conformance_activation_error`` or ``--rnn-activation-error``, in units of u);
that absolute error is then added to each tanh's local error and shown in the report
header and every failure message. The default is 0.

Equivalences between two runs of the *target* (layouts, batch splitting) use twice
the bound, since each run is within one bound of the exact result. Identities that
nn.RNN's contract makes exact (``output[-1] == h_n[-1]``) use no tolerance at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from rnn_conformance.backprop import (
    DirectionBackward,
    DirectionPerturbation,
    Gradients,
    assemble_gradients,
    backward_through_trace,
    summed_outer,
    to_time_major,
)
from rnn_conformance.reference import Array, DirectionTrace, ForwardTrace

__all__ = [
    "SAFETY",
    "REFERENCE_ROUNDOFF",
    "PROBES",
    "Precision",
    "ForwardBounds",
    "Mismatch",
    "ToleranceError",
    "dtype_name",
    "unit_roundoff",
    "forward_error_bounds",
    "gradients_and_error_bounds",
    "find_mismatch",
    "assert_within",
    "assert_identical",
]

SAFETY = 2.0
"""Multiplier on the first-order bound; documented above, shared by all properties."""

REFERENCE_ROUNDOFF = 2.0**-53
"""The reference computes in float64."""

_SMALLEST_NORMAL = {
    "float64": 2.0**-1022,
    "float32": 2.0**-126,
    "float16": 2.0**-14,
    "bfloat16": 2.0**-126,
}

_UNIT_ROUNDOFF = {
    "float64": 2.0**-53,
    "float32": 2.0**-24,
    "tf32": 2.0**-11,
    "float16": 2.0**-11,
    "bfloat16": 2.0**-8,
}


def dtype_name(dtype: Any) -> str:
    """Normalise a torch dtype, NumPy dtype or name to ``float32``-style names.

    >>> dtype_name("torch.float32"), dtype_name(np.float64)
    ('float32', 'float64')
    """
    text = str(dtype)
    if text.startswith("<class"):
        text = np.dtype(dtype).name
    return text.removeprefix("torch.")


def unit_roundoff(dtype: Any) -> float:
    """Unit roundoff ``u`` (half the machine epsilon) of a floating dtype.

    >>> unit_roundoff("float32") == 2**-24
    True
    """
    name = dtype_name(dtype)
    try:
        return _UNIT_ROUNDOFF[name]
    except KeyError:
        raise ValueError(
            f"no unit roundoff known for dtype {name!r}; known: {sorted(_UNIT_ROUNDOFF)}"
        ) from None


@dataclass(frozen=True)
class Precision:
    """How a target rounds: ``matmul`` for products and sums, ``elementwise`` for the rest.

    >>> Precision.of("float32").matmul == 2**-24 + 2**-53
    True
    >>> Precision.of("float32", tf32=True).matmul == 2**-11 + 2**-53
    True
    """

    matmul: float
    elementwise: float
    label: str
    underflow: float = 0.0
    activation_absolute: float = 0.0

    @classmethod
    def of(cls, dtype: Any, *, tf32: bool = False, activation_error: float = 0.0) -> Precision:
        """The precision of a module in ``dtype``; ``tf32`` widens float32 matmuls.

        The reference's own float64 roundoff is added, which matters only when the
        target is float64 as well. ``activation_error`` is a target's *declared* absolute
        error of tanh in units of ``u`` (0 for a correctly rounded-ish tanh, as torch's);
        see "Declared activation accuracy" above.
        """
        name = dtype_name(dtype)
        u = unit_roundoff(name) + REFERENCE_ROUNDOFF
        tiny = _SMALLEST_NORMAL[name]
        label = name
        matmul = u
        if tf32 and name == "float32":
            matmul, label = unit_roundoff("tf32") + REFERENCE_ROUNDOFF, "float32 (TF32 matmuls)"
        if activation_error:
            label += f", tanh absolute error <= {activation_error:g} u (declared)"
        return cls(matmul, u, label, tiny, activation_error * unit_roundoff(name))


@dataclass(frozen=True)
class ForwardBounds:
    """Per-element error bounds shaped like nn.RNN's ``output`` and ``h_n``.

    ``hidden`` and ``preactivation`` hold the bounds of every layer-direction's states
    and pre-activations, ``[layer][direction]`` of shape (L, N, H) in processing order
    (as in :class:`~rnn_conformance.reference.DirectionTrace`), for the gradient bounds.
    """

    output: Array
    h_n: Array
    hidden: list[list[Array]] = field(default_factory=list)
    preactivation: list[list[Array]] = field(default_factory=list)


PROBES = 8
"""Number of random-sign error probes propagated through the linearised recurrence."""


def probe_spread(probes: Array) -> Array:
    """The typical size of the probes' errors: the random probes' RMS, or the coherent one's."""
    return np.maximum(np.sqrt(np.mean(probes[1:] ** 2, axis=0)), np.abs(probes[0]))


def _direction_probes(
    run: DirectionTrace, incoming: Array, nonlinearity: str, precision: Precision, rng: Any
) -> tuple[Array, Array, Array]:
    """Propagate probes and deterministic local bounds through one direction.

    ``incoming`` holds the probes' errors in this direction's inputs, (P, L, N, K) in
    processing order. Returns the probes' errors in the hidden states, (P, L, N, H), the
    local (one-step) error bound of each hidden state, (L, N, H), and the bound of each
    pre-activation (RMS of the probes plus its local rounding), (L, N, H).
    """
    steps, batch, hidden_size = run.preactivations.shape
    fan = run.weight_ih.shape[1] + hidden_size + 2
    previous = np.concatenate([run.h0[None], run.hidden[:-1]], axis=0)
    magnitude = (
        np.abs(run.inputs) @ np.abs(run.weight_ih).T
        + np.abs(previous) @ np.abs(run.weight_hh).T
        + run.bias_magnitude
    )
    local_pre = fan * (precision.matmul * magnitude + precision.underflow)
    if nonlinearity == "tanh":
        slope = 1.0 - run.hidden**2
        local_act = (
            2 * precision.elementwise * np.abs(run.hidden)
            + precision.underflow
            + precision.activation_absolute
        )
    else:
        slope = (run.preactivations > 0).astype(np.float64)
        local_act = np.zeros_like(run.hidden)
    # Rounding errors have unknown signs: each probe draws them at random, at their
    # worst-case magnitude, so the probes sample how this recurrence amplifies them.
    signs_pre = rng.choice((-1.0, 1.0), size=(PROBES, *local_pre.shape))
    signs_act = rng.choice((-1.0, 1.0), size=(PROBES, *local_act.shape))
    # Probe 0 is coherent: every error pushes away from zero, as a kernel whose rounding
    # is biased would. Such errors add up linearly over steps, not like a random walk.
    signs_pre[0] = np.where(run.preactivations < 0, -1.0, 1.0)
    signs_act[0] = np.where(run.hidden < 0, -1.0, 1.0)
    carried_in = incoming @ run.weight_ih.T
    probes = np.empty((PROBES, steps, batch, hidden_size))
    pre_rms = np.empty((steps, batch, hidden_size))
    ambiguous = np.zeros((steps, batch, hidden_size), dtype=bool)
    error = np.zeros((PROBES, batch, hidden_size))
    for t in range(steps):
        pre_error = carried_in[:, t] + error @ run.weight_hh.T + signs_pre[:, t] * local_pre[t]
        pre_rms[t] = probe_spread(pre_error)
        if nonlinearity == "relu":
            # Within its error bound of zero, the target's pre-activation may have the
            # other sign: relu then passes the error through, so count it as active.
            ambiguous[t] = np.abs(run.preactivations[t]) <= SAFETY * (pre_rms[t] + local_pre[t])
            slope[t] = np.where(ambiguous[t], 1.0, slope[t])
        error = slope[t] * pre_error + signs_act[:, t] * local_act[t]
        probes[:, t] = error
    local = slope * local_pre + local_act + np.where(ambiguous, pre_rms, 0.0)
    return probes, local, pre_rms + local_pre


def forward_error_bounds(
    trace: ForwardTrace, precision: Precision, *, batched: bool, batch_first: bool
) -> ForwardBounds:
    """Bounds for ``output`` and ``h_n`` in nn.RNN's layout for this call.

    ``trace`` comes from :func:`rnn_conformance.reference.rnn_forward_trace` on the same
    input. The result is the *unscaled* bound; :func:`assert_within` applies ``SAFETY``.
    Deterministic: the probes' signs come from a fixed seed.
    """
    rng = np.random.default_rng(0)
    first = trace.layers[0][0]
    steps, batch, fan_in = first.inputs.shape
    incoming = np.zeros((PROBES, steps, batch, fan_in))
    h_n = []
    hidden: list[list[Array]] = []
    preactivation: list[list[Array]] = []
    for directions in trace.layers:
        probes, bounds = [], []
        hidden.append([])
        preactivation.append([])
        for d, run in enumerate(directions):
            # A reverse direction consumes its inputs reversed in time.
            seen = incoming[:, ::-1] if d else incoming
            direction_probes, local, pre_bound = _direction_probes(
                run, seen, trace.nonlinearity, precision, rng
            )
            # RMS over probes, floored by the unit-mean so no element's bound is small
            # by chance, plus the deterministic one-step bound.
            rms = probe_spread(direction_probes)
            bound = rms + rms.mean(axis=-1, keepdims=True) + local
            h_n.append(bound[-1])
            hidden[-1].append(bound)
            preactivation[-1].append(pre_bound)
            probes.append(direction_probes[:, ::-1] if d else direction_probes)
            bounds.append(bound[::-1] if d else bound)
        incoming = np.concatenate(probes, axis=-1)
        layer_bounds = np.concatenate(bounds, axis=-1)
    output, final = layer_bounds, np.stack(h_n)
    if not batched:
        return ForwardBounds(output[:, 0], final[:, 0], hidden, preactivation)
    if batch_first:
        output = output.transpose(1, 0, 2)
    return ForwardBounds(output, final, hidden, preactivation)


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


def assert_within(
    actual: NDArray[Any],
    expected: NDArray[Any],
    bound: NDArray[Any] | float,
    *,
    what: str,
    axes: tuple[str, ...],
    factor: float = 1.0,
    context: str = "",
) -> float:
    """Assert ``|actual - expected| <= factor * SAFETY * bound`` elementwise.

    Returns the largest ratio of error to allowed error (0 when all equal), for
    ``hypothesis.target``. ``factor=2`` is the policy for two runs of the target.
    """
    allowed = factor * SAFETY * np.asarray(bound, dtype=np.float64)
    mismatch = find_mismatch(actual, expected, allowed, what=what, axes=axes)
    if mismatch is not None:
        raise ToleranceError(mismatch, context)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.abs(np.asarray(actual, np.float64) - expected) / allowed
    ratio = np.nan_to_num(ratio, nan=0.0, posinf=0.0)
    return float(ratio.max(initial=0.0))


def assert_identical(
    actual: NDArray[Any],
    expected: NDArray[Any],
    *,
    what: str,
    axes: tuple[str, ...],
    context: str = "",
) -> None:
    """Assert bitwise-equal values (NaN equal to NaN): for identities nn.RNN makes exact."""
    mismatch = find_mismatch(actual, expected, 0.0, what=what, axes=axes)
    if mismatch is not None:
        raise ToleranceError(mismatch, context)


def _time_order_bounds(bounds: list[Array]) -> Array:
    """A layer's output bounds in time order from its per-direction processing-order ones."""
    return np.concatenate([b[::-1] if d else b for d, b in enumerate(bounds)], axis=-1)


def _direction_perturbation(
    trace: ForwardTrace,
    bounds: ForwardBounds,
    record: DirectionBackward,
    layer: int,
    direction: int,
    precision: Precision,
    rng: Any,
    above: Array,
) -> tuple[DirectionPerturbation, Array, Array]:
    """Random-sign perturbations at worst-case magnitudes for one direction's backward.

    ``above`` is the rounding of the gradient arriving from the layer above (processing
    order). Returns the perturbations with the magnitudes of the one-step errors of
    ``a_t`` and of the rounding of ``dx_t`` (the deterministic local bounds).
    """
    run = trace.layers[layer][direction]
    u, ue, tiny = precision.matmul, precision.elementwise, precision.underflow
    hidden_size = run.weight_hh.shape[0]
    if trace.nonlinearity == "tanh":
        # The target differentiates tanh from its own (rounded) h: f' = 1 - h*h.
        slope = 2 * np.abs(run.hidden) * bounds.hidden[layer][direction] + 2 * ue
    else:
        # relu's derivative is ambiguous wherever the target's pre-activation may
        # have the other sign: there it may be 0 or 1.
        ambiguous = np.abs(run.preactivations) <= SAFETY * bounds.preactivation[layer][direction]
        slope = ambiguous.astype(np.float64)
    following = np.concatenate([record.adjoint[1:], np.zeros_like(record.adjoint[:1])])
    carry = hidden_size * (u * (np.abs(following) @ np.abs(run.weight_hh)) + tiny)
    adjoint = (
        np.abs(record.slope) * (carry + above + ue * np.abs(record.upstream))
        + ue * np.abs(record.adjoint)
        + tiny
    )
    own = bounds.hidden[layer][direction]
    previous = np.concatenate([np.zeros_like(own[:1]), own[:-1]])
    if layer == 0:
        inputs = np.zeros_like(run.inputs)
    else:
        below = _time_order_bounds(bounds.hidden[layer - 1])
        inputs = below[::-1] if direction else below
    input_grad = hidden_size * (u * (np.abs(record.adjoint) @ np.abs(run.weight_ih)) + tiny)

    def signed(magnitude: Array, values: Array) -> Array:
        signs = rng.choice((-1.0, 1.0), size=(PROBES, *magnitude.shape))
        # Probe 0 is coherent, as in the forward bounds: each error has its value's sign.
        signs[0] = np.where(values < 0, -1.0, 1.0)
        return signs * magnitude

    perturbation = DirectionPerturbation(
        slope=signed(slope, record.slope),
        adjoint=signed(adjoint, record.adjoint),
        previous=signed(previous, record.previous),
        inputs=signed(inputs, run.inputs),
        input_grad=signed(input_grad, record.adjoint @ run.weight_ih),
    )
    return perturbation, np.abs(record.upstream) * slope + adjoint, input_grad


def _rounding_from_above(
    trace: ForwardTrace, records: list[list[DirectionBackward]], precision: Precision
) -> list[list[Array]]:
    """For each layer-direction, the rounding of ``dx`` it receives from the layer above.

    ``dx_t = a_t @ W_ih`` of every direction above, summed: H * u * |a| @ |W_ih| each,
    returned in the receiving direction's processing order (zeros for the top layer).
    """
    hidden_size = trace.layers[0][0].weight_hh.shape[0]
    result = []
    for layer, directions in enumerate(trace.layers):
        if layer + 1 == len(trace.layers):
            result.append([np.zeros_like(run.hidden) for run in directions])
            continue
        total: Array | float = 0.0
        for d, run in enumerate(trace.layers[layer + 1]):
            magnitude = np.abs(records[layer + 1][d].adjoint) @ np.abs(run.weight_ih)
            rounding = hidden_size * (precision.matmul * magnitude + precision.underflow)
            total = total + (rounding[::-1] if d else rounding)
        blocks = [
            np.asarray(total)[..., d * hidden_size : (d + 1) * hidden_size]
            for d in range(len(directions))
        ]
        result.append([block[::-1] if d else block for d, block in enumerate(blocks)])
    return result


def _reduction_bound(
    magnitude: Array,
    adjoint_error: Array,
    values: tuple[Array, Array] | None,
    precision: Precision,
) -> Array:
    """Local bound of a weight gradient (``values`` = (|x|, error of x)) or a bias gradient.

    A sum over L*N terms: its worst-case rounding plus the deterministic first-order
    error of each ``a_t`` and of each ``x`` (the target's forward error in it).
    """
    terms = magnitude.shape[0] * magnitude.shape[1]
    if values is None:
        exact, perturbed = magnitude.sum(axis=(0, 1)), adjoint_error.sum(axis=(0, 1))
    else:
        exact = summed_outer(magnitude, values[0])
        perturbed = summed_outer(adjoint_error, values[0]) + summed_outer(magnitude, values[1])
    return terms * (precision.matmul * exact + precision.underflow) + perturbed


def _probe_bound(perturbed: Array, exact: Array, local: Array) -> Array:
    """Spread of the probes' deviations, floored by its mean over the tensor, plus ``local``."""
    rms = probe_spread(perturbed - exact)
    return rms + rms.mean() + local


def gradients_and_error_bounds(
    trace: ForwardTrace,
    bounds: ForwardBounds,
    grad_output: Array,
    grad_h_n: Array,
    precision: Precision,
    *,
    batched: bool,
    batch_first: bool,
    bias: bool,
) -> tuple[Gradients, Gradients]:
    """The exact gradients and per-element bounds on the target's, both as :class:`Gradients`.

    The exact gradients are those of :func:`~rnn_conformance.backprop.gradients_from_trace`
    (the bounds need that backward pass anyway, so it is run once for both).

    The same method as the forward bounds, run backwards: the backward pass is repeated
    with random-sign perturbations at worst-case magnitudes of (i) the target's forward
    error in each ``h`` where it enters f' and the weight gradients, (ii) the rounding of
    each matrix product and elementwise step, and for relu (iii) a flipped derivative
    wherever the pre-activation is within its own error bound of zero. Each gradient
    element's bound is the spread of the probes' deviations, plus its mean over the tensor, plus
    the worst-case rounding of the final reduction over steps and batch
    (``L * N * u * sum |terms|``). ``bounds`` are the forward bounds of the same trace.
    """
    top = to_time_major(grad_output, batched=batched, batch_first=batch_first)
    final = grad_h_n if batched else grad_h_n[:, None]
    exact_input, exact_h0, exact_weights, records = backward_through_trace(trace, top, final)
    rng = np.random.default_rng(1)
    u, tiny = precision.matmul, precision.underflow
    perturbations, input_local, h0_local = [], 0.0, []
    weight_local: list[list[tuple[Array, Array, Array]]] = []
    from_above = _rounding_from_above(trace, records, precision)
    for layer, directions in enumerate(trace.layers):
        perturbations.append([])
        weight_local.append([])
        for d, run in enumerate(directions):
            record = records[layer][d]
            perturbation, adjoint_error, grad_rounding = _direction_perturbation(
                trace, bounds, record, layer, d, precision, rng, from_above[layer][d]
            )
            perturbations[-1].append(perturbation)
            if layer == 0:
                # The last step's error in a_t reaches dx_t deterministically.
                own = adjoint_error @ np.abs(run.weight_ih) + grad_rounding
                input_local = input_local + (own[::-1] if d else own)
            magnitude = np.abs(record.adjoint)
            weight_local[-1].append(
                tuple(
                    _reduction_bound(magnitude, adjoint_error, values, precision)
                    for values in (
                        (np.abs(run.inputs), np.abs(perturbation.inputs[0])),
                        (np.abs(record.previous), np.abs(perturbation.previous[0])),
                        None,
                    )
                )
            )
            h0_local.append(
                run.weight_hh.shape[0] * (u * (magnitude[0] @ np.abs(run.weight_hh)) + tiny)
                + adjoint_error[0] @ np.abs(run.weight_hh)
            )
    probe_input, probe_h0, probe_weights, _ = backward_through_trace(
        trace, top, final, perturbations
    )
    input_bound = _probe_bound(probe_input, exact_input, np.asarray(input_local))
    h0_bound = _probe_bound(probe_h0, exact_h0, np.stack(h0_local))
    weight_bounds = [
        [
            tuple(
                _probe_bound(p, e, loc)
                for p, e, loc in zip(probe_weights[k][d], exact_weights[k][d], local, strict=True)
            )
            for d, local in enumerate(layer_local)
        ]
        for k, layer_local in enumerate(weight_local)
    ]
    layout = {"batched": batched, "batch_first": batch_first, "bias": bias}
    exact = assemble_gradients(exact_input, exact_h0, exact_weights, **layout)
    return exact, assemble_gradients(input_bound, h0_bound, weight_bounds, **layout)  # type: ignore[arg-type]
