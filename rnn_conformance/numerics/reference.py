"""Independent NumPy reference for the recurrent family, computed in float64.

Nothing here imports torch: tensors are accepted by duck typing (anything with ``detach``)
and converted to float64 arrays, so the reference can catch bugs in torch's own kernels.
Layers, directions, layouts and unbatched input are handled here once for every family;
the cell step is the family's (:mod:`rnn_conformance.numerics.families`). For nn.RNN, for each
layer ``k`` and direction::

    h_t = f(x_t @ W_ih.T + b_ih + h_{t-1} @ W_hh.T + b_hh)

where ``x_t`` is the input for layer 0 and the (direction-concatenated) output of layer
``k - 1`` above it, and the reverse direction runs over the reversed sequence.

The layer loop is written in :mod:`rnn_conformance.numerics.arithmetic`, so the tolerance policy
runs the very same loop to propagate rounding errors.

Example:
    >>> import numpy as np
    >>> params = {"weight_ih_l0": np.eye(2), "weight_hh_l0": np.zeros((2, 2))}
    >>> out, h_n = elman_forward(np.ones((3, 2)), params)
    >>> out.shape, h_n.shape
    ((3, 2), (1, 2))

"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rnn_conformance.numerics.arithmetic import EXACT, Arithmetic, Array
from rnn_conformance.numerics.config import RNNConfig
from rnn_conformance.numerics.families import Family, family_named
from rnn_conformance.numerics.layouts import from_time_major, pack_state, state_parts, to_time_major
from rnn_conformance.numerics.parameters import direction_suffix, parse_parameter_name

__all__ = [
    "Array",
    "DirectionTrace",
    "ForwardTrace",
    "as_float64",
    "cell_forward",
    "direction_weights",
    "forward_trace",
    "infer_config",
    "run_layers",
    "elman_cell_forward",
    "elman_forward",
    "elman_forward_trace",
]


def as_float64(value: Any) -> Array:
    """Convert an array-like or a torch tensor (without importing torch) to float64 NumPy."""
    if hasattr(value, "detach"):
        # .double() first: NumPy cannot hold bfloat16, and a CUDA tensor must come to the CPU.
        value = value.detach().double().cpu().numpy()
    return np.asarray(value, dtype=np.float64)


def infer_config(
    params: Mapping[str, Any], *, family: str | Family = "rnn", **options: Any
) -> RNNConfig:
    """The configuration a parameter mapping describes: sizes, layers, bias, directions.

    ``options`` are the arguments names cannot tell (``nonlinearity``, ``batch_first``).
    Raises ``ValueError`` naming the first unknown, missing or misshapen parameter.

    >>> import numpy as np
    >>> c = infer_config({"weight_ih_l0": np.zeros((4, 3)), "weight_hh_l0": np.zeros((4, 4))})
    >>> (c.input_size, c.hidden_size, c.num_layers, c.bias, c.bidirectional)
    (3, 4, 1, False, False)
    """
    kind = family_named(family)
    what = kind.title.removeprefix("nn.")
    shapes: dict[str, tuple[int, ...]] = {}
    seen: list[tuple[str, int, int]] = []
    for name, value in params.items():
        parsed = parse_parameter_name(name)
        if parsed is None:
            raise ValueError(f"unknown {what} parameter name {name!r}")
        seen.append(parsed)
        shapes[name] = tuple(np.shape(value))
    if "weight_ih_l0" not in shapes:
        raise ValueError(f"missing {what} parameter 'weight_ih_l0'")
    first = shapes["weight_ih_l0"]
    if len(first) != 2 or first[0] % kind.gates:
        raise ValueError(
            f"'weight_ih_l0' must be 2-D with a multiple of {kind.gates} rows, got shape {first}"
        )
    config = RNNConfig(
        input_size=first[1],
        hidden_size=first[0] // kind.gates,
        num_layers=1 + max(layer for _, layer, _ in seen),
        bias=any(stem.startswith("bias") for stem, _, _ in seen),
        bidirectional=any(direction for _, _, direction in seen),
        family=kind,
        **{**kind.options_from_parameters(shapes), **options},
    )
    expected = config.parameter_shapes()
    for name, shape in shapes.items():
        if name not in expected:
            raise ValueError(f"unexpected {what} parameter {name!r} for {config.describe()}")
        if shape != expected[name]:
            raise ValueError(
                f"{what} parameter {name!r} has shape {shape}, expected {expected[name]}"
            )
    for name in expected:
        if name not in shapes:
            raise ValueError(f"missing {what} parameter {name!r}")
    return config


@dataclass
class DirectionTrace:
    """Everything one layer-direction computed, in processing order.

    ``inputs`` is the sequence the direction consumed (L, N, K) (for the reverse direction
    step 0 is the last time step), ``initial`` its initial state parts, ``states[t]`` the
    state parts after step ``t``, ``caches[t]`` what the family's backward step needs, and
    ``outputs`` the first state part stacked over steps (L, N, H_out). Values are arrays,
    or the tolerance policy's probed values when run in its arithmetic.
    """

    weights: dict[str, Array]
    inputs: Any
    initial: tuple[Any, ...]
    states: list[tuple[Any, ...]]
    caches: list[Any]
    outputs: Any


@dataclass
class ForwardTrace:
    """The reference's intermediate values, for error bounds and gradients.

    ``layers[k][d]`` is the :class:`DirectionTrace` of layer ``k``, direction ``d``; the
    time-major input and initial states are kept so that the tolerance policy can rerun
    the same computation in its own arithmetic.
    """

    config: RNNConfig
    batched: bool
    input: Array
    initial: list[tuple[Array, ...]]
    params: dict[str, Array]
    layers: list[list[DirectionTrace]] = field(default_factory=list)


def direction_weights(
    config: RNNConfig, params: Mapping[str, Array], layer: int, direction: int
) -> dict[str, Array]:
    """One layer-direction's parameters by stem (``weight_ih``, ...)."""
    suffix = direction_suffix(layer, direction)
    return {
        stem: params[stem + suffix] for stem in config.family.direction_parameters(config, layer)
    }


def _run_direction(
    ops: Arithmetic,
    config: RNNConfig,
    inputs: Any,
    initial: tuple[Any, ...],
    weights: dict[str, Array],
) -> DirectionTrace:
    family = config.family
    # The input projection has no recurrence, so it is one product over all steps.
    projected = ops.linear(inputs, weights["weight_ih"], weights.get("bias_ih"))
    state = tuple(ops.carried(part) for part in initial)
    states, caches = [], []
    for t in range(_steps(inputs)):
        gh = ops.linear(state[0], weights["weight_hh"], weights.get("bias_hh"))
        new, cache = family.step(ops, config, ops.at(projected, t), gh, state, weights)
        states.append(new)
        caches.append(cache)
        state = tuple(ops.carried(part) for part in new)
    outputs = ops.stack([parts[0] for parts in states])
    return DirectionTrace(weights, inputs, initial, states, caches, outputs)


def _steps(sequence: Any) -> int:
    """The number of steps of a sequence value, exact or probed."""
    return int(np.shape(getattr(sequence, "value", sequence))[0])


def run_layers(
    ops: Arithmetic,
    config: RNNConfig,
    x: Any,
    initial: list[tuple[Any, ...]],
    weights_of: Callable[[int, int], dict[str, Array]],
) -> tuple[Any, list[tuple[Any, ...]], list[list[DirectionTrace]]]:
    """All layers and directions in ``ops``, time-major: ``(output, finals, layers)``.

    ``x`` is (L, N, K); ``initial[k * D + d]`` the initial state parts of layer ``k``,
    direction ``d``; ``finals`` the last states in the same order.
    """
    D = config.num_directions
    layer_input = x
    finals: list[tuple[Any, ...]] = []
    layers: list[list[DirectionTrace]] = []
    for layer in range(config.num_layers):
        runs = []
        for d in range(D):
            sequence = ops.flip(layer_input) if d else layer_input
            run = _run_direction(
                ops, config, sequence, initial[layer * D + d], weights_of(layer, d)
            )
            runs.append(run)
            finals.append(run.states[-1])
        layers.append(runs)
        # Reverse outputs are in processing order; flip them back to time order.
        layer_input = ops.carried(
            ops.cat([ops.flip(run.outputs) if d else run.outputs for d, run in enumerate(runs)])
        )
    return layer_input, finals, layers


def _check_input(config: RNNConfig, x: Array) -> None:
    what = config.family.title.removeprefix("nn.")
    if x.ndim not in (2, 3):
        raise ValueError(f"{what}: Expected input to be 2D or 3D, got {x.ndim}D tensor instead")
    if x.shape[-1] != config.input_size:
        raise ValueError(
            "input.size(-1) must be equal to input_size. "
            f"Expected {config.input_size}, got {x.shape[-1]}"
        )
    if x.shape[1 if (x.ndim == 3 and config.batch_first) else 0] == 0:
        raise ValueError(f"Expected sequence length to be larger than 0 in {what}")


def _initial_state(config: RNNConfig, hx: Any, batched: bool, batch: int) -> list[Array]:
    """The state parts, time-major batched: each (D * num_layers, N, size)."""
    wanted = config.state_shapes(batch)
    parts = state_parts(config, hx)
    result = []
    for part, shape in zip(parts, wanted, strict=True):
        if part is None:
            result.append(np.zeros(shape))
            continue
        h = as_float64(part)
        rank = 3 if batched else 2
        if h.ndim != rank:
            kind = "batched 3-D" if batched else "unbatched 2-D"
            raise ValueError(
                f"For {kind} input, hx should also be {rank}-D but got {h.ndim}-D tensor"
            )
        h = h if batched else h[:, None, :]
        if h.shape != shape:
            got = list(h.shape if batched else h[:, 0, :].shape)
            want = shape if batched else (shape[0], shape[2])
            raise ValueError(f"Expected hidden size {want}, got {got}")
        result.append(h)
    return result


def forward_trace(
    config: RNNConfig, input: Any, params: Mapping[str, Any], hx: Any = None
) -> tuple[Array, Any, ForwardTrace]:
    """``(output, h_n, trace)`` of the module ``config`` describes, in its layout.

    ``h_n`` is an array, or a tuple of arrays for a family whose state has several parts.
    Bad shapes raise ``ValueError`` with torch's message.

    >>> import numpy as np
    >>> cfg = RNNConfig(1, 2, batch_first=True)
    >>> p = {"weight_ih_l0": np.ones((2, 1)), "weight_hh_l0": np.zeros((2, 2))}
    >>> out, h_n, trace = forward_trace(cfg.with_(bias=False), np.zeros((4, 3, 1)), p)
    >>> out.shape, h_n.shape, len(trace.layers)
    ((4, 3, 2), (1, 4, 2), 1)
    """
    weights = {name: as_float64(value) for name, value in params.items()}
    expected = config.parameter_shapes()
    if {name: w.shape for name, w in weights.items()} != expected:
        infer_config(weights, family=config.family)  # names the culprit
        raise ValueError(
            f"parameters {sorted(weights)} do not match {config.describe()}: expected {expected}"
        )
    x = as_float64(input)
    _check_input(config, x)
    batched = x.ndim == 3
    x = to_time_major(x, batched=batched, batch_first=config.batch_first)
    parts = _initial_state(config, hx, batched, x.shape[1])
    D = config.num_directions
    initial = [tuple(part[k] for part in parts) for k in range(D * config.num_layers)]
    output, finals, layers = run_layers(
        EXACT, config, x, initial, lambda k, d: direction_weights(config, weights, k, d)
    )
    trace = ForwardTrace(config, batched, x, initial, weights, layers)
    h_n = [np.stack([final[part] for final in finals]) for part in range(len(parts))]
    return (
        from_time_major(output, batched=batched, batch_first=config.batch_first),
        pack_state(config, [h if batched else h[:, 0] for h in h_n]),
        trace,
    )


def elman_forward_trace(
    input: Any,
    params: Mapping[str, Any],
    hx: Any = None,
    *,
    nonlinearity: str = "tanh",
    batch_first: bool = False,
) -> tuple[Array, Array, ForwardTrace]:
    """Like :func:`elman_forward`, also returning the :class:`ForwardTrace`.

    >>> import numpy as np
    >>> p = {"weight_ih_l0": np.ones((1, 1)), "weight_hh_l0": np.zeros((1, 1))}
    >>> _, _, trace = elman_forward_trace(np.zeros((2, 1)), p)
    >>> trace.layers[0][0].outputs.shape
    (2, 1, 1)
    """
    config = infer_config(params, nonlinearity=nonlinearity, batch_first=batch_first)
    return forward_trace(config, input, params, hx)


def elman_forward(
    input: Any,
    params: Mapping[str, Any],
    hx: Any = None,
    *,
    nonlinearity: str = "tanh",
    batch_first: bool = False,
) -> tuple[Array, Array]:
    """Compute ``(output, h_n)`` exactly as ``nn.RNN`` defines them, in float64.

    ``params`` maps nn.RNN parameter names (``weight_ih_l0``, ``bias_hh_l1_reverse``,
    ...) to arrays or tensors; ``num_layers``, ``bias`` and ``bidirectional`` are
    inferred from the names. ``input`` is (L, H_in) unbatched, (L, N, H_in) batched or
    (N, L, H_in) with ``batch_first``; ``hx`` is (D * num_layers, [N,] H) whatever
    ``batch_first`` is, zeros when ``None``. Bad shapes raise ``ValueError`` with
    nn.RNN's message.

    >>> import numpy as np
    >>> p = {"weight_ih_l0": np.ones((2, 1)), "weight_hh_l0": np.zeros((2, 2))}
    >>> out, h_n = elman_forward(np.zeros((4, 3, 1)), p, batch_first=True)
    >>> out.shape, h_n.shape
    ((4, 3, 2), (1, 4, 2))
    """
    output, h_n, _ = elman_forward_trace(
        input, params, hx, nonlinearity=nonlinearity, batch_first=batch_first
    )
    return output, h_n


def cell_forward(config: RNNConfig, input: Any, hx: Any, params: Mapping[str, Any]) -> Any:
    """One step of the family's cell (nn.RNNCell, ...) with ``config``'s sizes.

    ``params`` uses the cell's names (``weight_ih``, ``weight_hh``, ``bias_ih``,
    ``bias_hh``); ``input`` is (N, H_in) or unbatched (H_in,); ``hx`` matches it (a tuple
    for a family with several state parts) or is ``None`` (zeros). Returns the new state
    as the cell does: an array, or a tuple of arrays.
    """
    what = config.family.title.removeprefix("nn.") + "Cell"
    weights = {name: as_float64(value) for name, value in params.items()}
    x = as_float64(input)
    if x.ndim not in (1, 2):
        raise ValueError(f"{what}: Expected input to be 1D or 2D, got {x.ndim}D instead")
    if x.shape[-1] != config.input_size:
        raise ValueError(
            f"input has inconsistent input_size: got {x.shape[-1]} expected {config.input_size}"
        )
    batched = x.ndim == 2
    rows = x if batched else x[None]
    parts = []
    for part, size in zip(state_parts(config, hx), config.state_sizes, strict=True):
        shape = (*x.shape[:-1], size)
        h = np.zeros(shape) if part is None else as_float64(part)
        if h.ndim not in (1, 2):
            raise ValueError(f"{what}: Expected hidden to be 1D or 2D, got {h.ndim}D instead")
        if h.shape != shape:
            raise ValueError(
                f"hidden has shape {h.shape}, expected {shape}"
                + ("" if batched else " for unbatched input")
            )
        parts.append(h if batched else h[None])
    gi = EXACT.linear(rows, weights["weight_ih"], weights.get("bias_ih"))
    gh = EXACT.linear(parts[0], weights["weight_hh"], weights.get("bias_hh"))
    new, _ = config.family.step(EXACT, config, gi, gh, tuple(parts), weights)
    return pack_state(config, [part if batched else part[0] for part in new])


def elman_cell_forward(
    input: Any,
    hx: Any,
    weight_ih: Any,
    weight_hh: Any,
    bias_ih: Any = None,
    bias_hh: Any = None,
    *,
    nonlinearity: str = "tanh",
) -> Array:
    """One step of ``nn.RNNCell``: ``f(input @ W_ih.T + b_ih + hx @ W_hh.T + b_hh)``.

    ``input`` is (N, H_in) or unbatched (H_in,); ``hx`` matches it or is ``None``
    (zeros). Biases are omitted together (``bias=False``).

    >>> import numpy as np
    >>> elman_cell_forward(np.ones(2), None, np.ones((3, 2)), np.eye(3), nonlinearity="relu")
    array([2., 2., 2.])
    """
    if (bias_ih is None) != (bias_hh is None):
        raise ValueError("bias_ih and bias_hh must be given together (bias=True) or not at all")
    w_ih = as_float64(weight_ih)
    config = RNNConfig(
        w_ih.shape[1], w_ih.shape[0], nonlinearity=nonlinearity, bias=bias_ih is not None
    )
    params = {"weight_ih": w_ih, "weight_hh": weight_hh}
    if bias_ih is not None:
        params.update(bias_ih=bias_ih, bias_hh=bias_hh)
    result: Array = cell_forward(config, input, hx, params)
    return result
