"""Independent NumPy reference for ``nn.RNN`` and ``nn.RNNCell``, computed in float64.

Nothing here imports torch: tensors are accepted by duck typing (anything with
``detach``) and converted to float64 arrays, so the reference can catch bugs in
torch's own kernels. The recurrence, for each layer ``k`` and direction::

    h_t = f(x_t @ W_ih.T + b_ih + h_{t-1} @ W_hh.T + b_hh)

where ``x_t`` is the input for layer 0 and the (direction-concatenated) output of
layer ``k - 1`` above it, and the reverse direction runs over the reversed sequence.

Example:
    >>> import numpy as np
    >>> params = {"weight_ih_l0": np.eye(2), "weight_hh_l0": np.zeros((2, 2))}
    >>> out, h_n = rnn_forward(np.ones((3, 2)), params)
    >>> out.shape, h_n.shape
    ((3, 2), (1, 2))

"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "Array",
    "NONLINEARITIES",
    "DirectionTrace",
    "ForwardTrace",
    "RNNStructure",
    "as_float64",
    "infer_structure",
    "rnn_forward",
    "rnn_forward_trace",
    "rnn_cell_forward",
]

Array = NDArray[np.float64]

_PARAM_NAME = re.compile(r"^(weight|bias)_(ih|hh)_l(\d+)(_reverse)?$")
NONLINEARITIES = ("tanh", "relu")


def as_float64(value: Any) -> Array:
    """Convert an array-like or a torch tensor (without importing torch) to float64 NumPy."""
    if hasattr(value, "detach"):
        # .double() first: NumPy cannot hold bfloat16, and a CUDA tensor must come to the CPU.
        value = value.detach().double().cpu().numpy()
    return np.asarray(value, dtype=np.float64)


@dataclass(frozen=True)
class RNNStructure:
    """What a parameter mapping says about the RNN it belongs to."""

    input_size: int
    hidden_size: int
    num_layers: int
    bias: bool
    bidirectional: bool

    @property
    def num_directions(self) -> int:
        """2 if bidirectional, else 1."""
        return 2 if self.bidirectional else 1


def infer_structure(params: Mapping[str, Any]) -> RNNStructure:
    """Infer num_layers, bias, bidirectional and sizes from nn.RNN parameter names.

    Raises ``ValueError`` naming the first unknown, missing or misshapen parameter.

    >>> import numpy as np
    >>> s = infer_structure({"weight_ih_l0": np.zeros((4, 3)), "weight_hh_l0": np.zeros((4, 4))})
    >>> (s.input_size, s.hidden_size, s.num_layers, s.bias, s.bidirectional)
    (3, 4, 1, False, False)
    """
    seen: dict[tuple[str, str, int, bool], tuple[int, ...]] = {}
    for name, value in params.items():
        match = _PARAM_NAME.match(name)
        if match is None:
            raise ValueError(f"unknown RNN parameter name {name!r}")
        kind, gate, layer, reverse = match.groups()
        seen[(kind, gate, int(layer), reverse is not None)] = tuple(np.shape(value))
    if ("weight", "ih", 0, False) not in seen:
        raise ValueError("missing RNN parameter 'weight_ih_l0'")
    num_layers = 1 + max(key[2] for key in seen)
    bidirectional = any(key[3] for key in seen)
    bias = any(key[0] == "bias" for key in seen)
    first = seen[("weight", "ih", 0, False)]
    if len(first) != 2:
        raise ValueError(f"'weight_ih_l0' must be 2-D, got shape {first}")
    hidden_size, input_size = first
    structure = RNNStructure(input_size, hidden_size, num_layers, bias, bidirectional)
    expected = _expected_shapes(structure)
    for key, shape in seen.items():
        name = _param_name(*key)
        if key not in expected:
            raise ValueError(f"unexpected RNN parameter {name!r} for {structure}")
        if shape != expected[key]:
            raise ValueError(f"RNN parameter {name!r} has shape {shape}, expected {expected[key]}")
    for key in expected:
        if key not in seen:
            raise ValueError(f"missing RNN parameter {_param_name(*key)!r}")
    return structure


def _param_name(kind: str, gate: str, layer: int, reverse: bool) -> str:
    return f"{kind}_{gate}_l{layer}" + ("_reverse" if reverse else "")


def _expected_shapes(s: RNNStructure) -> dict[tuple[str, str, int, bool], tuple[int, ...]]:
    shapes: dict[tuple[str, str, int, bool], tuple[int, ...]] = {}
    for layer in range(s.num_layers):
        fan_in = s.input_size if layer == 0 else s.num_directions * s.hidden_size
        for reverse in (False, True)[: s.num_directions]:
            shapes[("weight", "ih", layer, reverse)] = (s.hidden_size, fan_in)
            shapes[("weight", "hh", layer, reverse)] = (s.hidden_size, s.hidden_size)
            if s.bias:
                shapes[("bias", "ih", layer, reverse)] = (s.hidden_size,)
                shapes[("bias", "hh", layer, reverse)] = (s.hidden_size,)
    return shapes


@dataclass
class DirectionTrace:
    """Everything one layer-direction computed, in time-major (L, N, ...) order.

    ``inputs`` is what the direction consumed, ``preactivations`` the arguments of the
    nonlinearity and ``hidden`` the states it produced, each indexed by *processing*
    step (so for the reverse direction, step 0 is the last time step).
    """

    weight_ih: Array
    weight_hh: Array
    bias: Array
    bias_magnitude: Array
    inputs: Array
    preactivations: Array
    hidden: Array
    h0: Array


@dataclass
class ForwardTrace:
    """The reference's intermediate values, for tolerance bounds and gradients."""

    nonlinearity: str
    layers: list[list[DirectionTrace]] = field(default_factory=list)


def _activate(preactivation: Array, nonlinearity: str) -> Array:
    if nonlinearity == "tanh":
        return np.tanh(preactivation)
    return np.maximum(preactivation, 0.0)


def _check_nonlinearity(nonlinearity: str) -> None:
    if nonlinearity not in NONLINEARITIES:
        raise ValueError(f"Unknown nonlinearity {nonlinearity!r}. Select from 'tanh' or 'relu'.")


def _run_direction(
    inputs: Array,
    h0: Array,
    w_ih: Array,
    w_hh: Array,
    biases: tuple[Array, Array] | None,
    nonlinearity: str,
) -> DirectionTrace:
    hidden_size = w_hh.shape[0]
    if biases is None:
        bias = magnitude = np.zeros(hidden_size)
    else:
        bias, magnitude = biases[0] + biases[1], np.abs(biases[0]) + np.abs(biases[1])
    # The input projection has no recurrence, so it is one matmul over all steps.
    projected = inputs @ w_ih.T + bias
    steps, batch = inputs.shape[:2]
    pre = np.empty((steps, batch, hidden_size))
    hidden = np.empty_like(pre)
    h = h0
    for t in range(steps):
        pre[t] = projected[t] + h @ w_hh.T
        h = hidden[t] = _activate(pre[t], nonlinearity)
    return DirectionTrace(w_ih, w_hh, bias, magnitude, inputs, pre, hidden, h0)


def rnn_forward_trace(
    input: Any,
    params: Mapping[str, Any],
    hx: Any = None,
    *,
    nonlinearity: str = "tanh",
    batch_first: bool = False,
) -> tuple[Array, Array, ForwardTrace]:
    """Like :func:`rnn_forward`, also returning the :class:`ForwardTrace`.

    >>> import numpy as np
    >>> p = {"weight_ih_l0": np.ones((1, 1)), "weight_hh_l0": np.zeros((1, 1))}
    >>> _, _, trace = rnn_forward_trace(np.zeros((2, 1)), p)
    >>> trace.layers[0][0].preactivations.shape
    (2, 1, 1)
    """
    _check_nonlinearity(nonlinearity)
    structure = infer_structure(params)
    weights = {name: as_float64(value) for name, value in params.items()}
    x = as_float64(input)
    if x.ndim not in (2, 3):
        raise ValueError(f"RNN: Expected input to be 2D or 3D, got {x.ndim}D tensor instead")
    batched = x.ndim == 3
    if not batched:
        x = x[:, None, :]
    elif batch_first:
        x = x.transpose(1, 0, 2)
    seq_len, batch = x.shape[:2]
    if x.shape[-1] != structure.input_size:
        raise ValueError(
            "input.size(-1) must be equal to input_size. "
            f"Expected {structure.input_size}, got {x.shape[-1]}"
        )
    if seq_len == 0:
        raise ValueError("Expected sequence length to be larger than 0 in RNN")
    D, H = structure.num_directions, structure.hidden_size
    expected_hidden = (D * structure.num_layers, batch, H)
    if hx is None:
        h0 = np.zeros(expected_hidden)
    else:
        h0 = as_float64(hx)
        wanted = 3 if batched else 2
        if h0.ndim != wanted:
            kind = "batched 3-D" if batched else "unbatched 2-D"
            raise ValueError(
                f"For {kind} input, hx should also be {wanted}-D but got {h0.ndim}-D tensor"
            )
        if not batched:
            h0 = h0[:, None, :]
        if h0.shape != expected_hidden:
            got = list(h0.shape if batched else h0[:, 0, :].shape)
            want = expected_hidden if batched else (expected_hidden[0], H)
            raise ValueError(f"Expected hidden size {want}, got {got}")

    trace = ForwardTrace(nonlinearity)
    layer_input = x
    h_n = np.empty(expected_hidden)
    for layer in range(structure.num_layers):
        directions = []
        for d in range(D):
            suffix = f"_l{layer}" + ("_reverse" if d else "")
            biases = None
            if structure.bias:
                biases = (weights["bias_ih" + suffix], weights["bias_hh" + suffix])
            seq = layer_input[::-1] if d else layer_input
            run = _run_direction(
                seq,
                h0[layer * D + d],
                weights["weight_ih" + suffix],
                weights["weight_hh" + suffix],
                biases,
                nonlinearity,
            )
            directions.append(run)
            h_n[layer * D + d] = run.hidden[-1]
        trace.layers.append(directions)
        # Reverse outputs are stored in processing order; flip them back to time order.
        layer_input = np.concatenate(
            [run.hidden[::-1] if d else run.hidden for d, run in enumerate(directions)], axis=-1
        )
    output = layer_input
    if not batched:
        return output[:, 0, :], h_n[:, 0, :], trace
    if batch_first:
        output = output.transpose(1, 0, 2)
    return output, h_n, trace


def rnn_forward(
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
    >>> out, h_n = rnn_forward(np.zeros((4, 3, 1)), p, batch_first=True)
    >>> out.shape, h_n.shape
    ((4, 3, 2), (1, 4, 2))
    """
    output, h_n, _ = rnn_forward_trace(
        input, params, hx, nonlinearity=nonlinearity, batch_first=batch_first
    )
    return output, h_n


def rnn_cell_forward(
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
    >>> rnn_cell_forward(np.ones(2), None, np.ones((3, 2)), np.eye(3), nonlinearity="relu")
    array([2., 2., 2.])
    """
    _check_nonlinearity(nonlinearity)
    x = as_float64(input)
    w_ih, w_hh = as_float64(weight_ih), as_float64(weight_hh)
    if x.ndim not in (1, 2):
        raise ValueError(f"RNNCell: Expected input to be 1D or 2D, got {x.ndim}D instead")
    if x.shape[-1] != w_ih.shape[1]:
        raise ValueError(
            f"input has inconsistent input_size: got {x.shape[-1]} expected {w_ih.shape[1]}"
        )
    batched = x.ndim == 2
    h = np.zeros((*x.shape[:-1], w_hh.shape[0])) if hx is None else as_float64(hx)
    if h.ndim not in (1, 2):
        raise ValueError(f"RNNCell: Expected hidden to be 1D or 2D, got {h.ndim}D instead")
    if h.shape != (*x.shape[:-1], w_hh.shape[0]):
        raise ValueError(
            f"hidden has shape {h.shape}, expected {(*x.shape[:-1], w_hh.shape[0])}"
            + ("" if batched else " for unbatched input")
        )
    if (bias_ih is None) != (bias_hh is None):
        raise ValueError("bias_ih and bias_hh must be given together (bias=True) or not at all")
    pre = x @ w_ih.T + h @ w_hh.T
    if bias_ih is not None:
        pre = pre + as_float64(bias_ih) + as_float64(bias_hh)
    return _activate(pre, nonlinearity)
