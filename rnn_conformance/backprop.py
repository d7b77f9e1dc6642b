"""Hand-written backpropagation through time for the NumPy reference, in float64.

Gradients of the scalar ``sum(grad_output * output) + sum(grad_h_n * h_n)`` (what
``torch.autograd.backward((output, h_n), (grad_output, grad_h_n))`` computes) with
respect to ``input``, ``hx`` and every parameter. Nothing here imports torch. For each
layer-direction, from the top layer down and from the last processed step back::

    g_t  = dL/dh_t (from the layer above or grad_output) + a_{t+1} @ W_hh  (+ grad_h_n at the end)
    a_t  = g_t * f'(pre_t)            f' = 1 - h_t**2 for tanh, [pre_t > 0] for relu
    dW_ih += a_t.T @ x_t,  dW_hh += a_t.T @ h_{t-1},  db_ih = db_hh += sum(a_t)
    dx_t  = a_t @ W_ih                (summed over directions, flowing to the layer below)
    dh_0  = a_1 @ W_hh

Example:
    >>> import numpy as np
    >>> p = {"weight_ih_l0": np.ones((1, 1)), "weight_hh_l0": np.zeros((1, 1))}
    >>> g = rnn_gradients(np.zeros((2, 1)), p, grad_output=np.ones((2, 1)))
    >>> g.params["weight_ih_l0"], g.input.ravel()
    (array([[0.]]), array([1., 1.]))

"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from rnn_conformance.reference import Array, ForwardTrace, as_float64, rnn_forward_trace

__all__ = [
    "Gradients",
    "rnn_gradients",
    "gradients_from_trace",
]


@dataclass(frozen=True)
class Gradients:
    """Gradients shaped like the forward call's ``input``, ``hx`` and parameters."""

    input: Array
    hx: Array
    params: dict[str, Array]


@dataclass(frozen=True)
class DirectionPerturbation:
    """Perturbations injected into one layer-direction's backward pass (processing order).

    Each array has a leading probe axis P. ``slope`` is added to f'(pre), ``adjoint`` to
    each ``a_t``; ``previous`` and ``inputs`` are added to ``h_{t-1}`` and ``x_t`` where
    they enter the weight gradients; ``input_grad`` to ``dx_t``. Used by the tolerance
    policy to sample how rounding propagates backwards; see ``tolerances``.
    """

    slope: Array
    adjoint: Array
    previous: Array
    inputs: Array
    input_grad: Array


@dataclass(frozen=True)
class DirectionBackward:
    """What one layer-direction's exact backward pass computed, in processing order."""

    upstream: Array
    """``g_t``: the gradient reaching ``h_t`` from above, from later steps and h_n."""
    adjoint: Array
    """``a_t = g_t * f'(pre_t)``, the gradient of the pre-activation."""
    slope: Array
    previous: Array
    """``h_{t-1}`` (``h_0`` first)."""


def slopes(trace: ForwardTrace, layer: int, direction: int) -> Array:
    """``f'(pre_t)`` of one layer-direction, (L, N, H) in processing order."""
    run = trace.layers[layer][direction]
    if trace.nonlinearity == "tanh":
        return 1.0 - run.hidden**2
    return (run.preactivations > 0).astype(np.float64)


def summed_outer(adjoint: Array, values: Array) -> Array:
    """Sum over steps and batch of ``adjoint.T @ values``: (..., H, K) from (..., L, N, *).

    One matrix product over the flattened steps and batch (much faster than einsum).
    """
    a = adjoint.reshape(*adjoint.shape[:-3], -1, adjoint.shape[-1])
    v = values.reshape(*values.shape[:-3], -1, values.shape[-1])
    return np.swapaxes(a, -1, -2) @ v


def backward_through_trace(
    trace: ForwardTrace,
    grad_top: Array,
    grad_h_n: Array,
    perturbations: list[list[DirectionPerturbation]] | None = None,
) -> tuple[Array, Array, list[list[tuple[Array, Array, Array]]], list[list[DirectionBackward]]]:
    """Backpropagate through a forward trace (time-major, batched layout).

    ``grad_top`` is (L, N, D*H) and ``grad_h_n`` is (D*layers, N, H). Returns the
    gradients of the layer-0 input (L, N, K) and of ``h_0`` (D*layers, N, H), the
    ``(dW_ih, dW_hh, db)`` of each layer-direction and the per-direction records. With
    ``perturbations`` every result gains a leading probe axis.
    """
    num_layers, D = len(trace.layers), len(trace.layers[0])
    hidden_size = trace.layers[0][0].weight_hh.shape[0]
    grad_above: Array = grad_top
    grad_h0: list[Array] = [np.empty(0)] * (num_layers * D)
    weights: list[list[tuple[Array, Array, Array]]] = [[] for _ in range(num_layers)]
    records: list[list[DirectionBackward]] = [[] for _ in range(num_layers)]
    for layer in reversed(range(num_layers)):
        grad_below: Array | float = 0.0
        for d, run in enumerate(trace.layers[layer]):
            noise = None if perturbations is None else perturbations[layer][d]
            from_above = grad_above[..., d * hidden_size : (d + 1) * hidden_size]
            if d:
                from_above = np.flip(from_above, axis=-3)
            slope = slopes(trace, layer, d)
            if noise is not None:
                slope = slope + noise.slope
            steps = run.hidden.shape[0]
            upstream = np.empty(np.broadcast_shapes(from_above.shape, slope.shape))
            adjoint = np.empty_like(upstream)
            carry = grad_h_n[..., layer * D + d, :, :]
            for t in reversed(range(steps)):
                upstream[..., t, :, :] = from_above[..., t, :, :] + carry
                a = upstream[..., t, :, :] * slope[..., t, :, :]
                if noise is not None:
                    a = a + noise.adjoint[:, t]
                adjoint[..., t, :, :] = a
                carry = a @ run.weight_hh
            grad_h0[layer * D + d] = carry
            previous = np.concatenate([run.h0[None], run.hidden[:-1]], axis=0)
            inputs = run.inputs
            if noise is not None:
                previous, inputs = previous + noise.previous, inputs + noise.inputs
            d_ih = summed_outer(adjoint, inputs)
            d_hh = summed_outer(adjoint, previous)
            d_b = adjoint.sum(axis=(-3, -2))
            weights[layer].append((d_ih, d_hh, d_b))
            records[layer].append(
                DirectionBackward(upstream, adjoint, slopes(trace, layer, d), previous)
            )
            d_in = adjoint @ run.weight_ih
            if noise is not None:
                d_in = d_in + noise.input_grad
            grad_below = grad_below + (np.flip(d_in, axis=-3) if d else d_in)
        grad_above = np.asarray(grad_below)
    return grad_above, np.stack(grad_h0, axis=-3), weights, records


def parameter_gradients(
    weights: list[list[tuple[Array, Array, Array]]], bias: bool
) -> dict[str, Array]:
    """Name the ``(dW_ih, dW_hh, db)`` triples as nn.RNN's parameters."""
    grads: dict[str, Array] = {}
    for layer, directions in enumerate(weights):
        for d, (d_ih, d_hh, d_b) in enumerate(directions):
            suffix = f"_l{layer}" + ("_reverse" if d else "")
            grads["weight_ih" + suffix] = d_ih
            grads["weight_hh" + suffix] = d_hh
            if bias:
                grads["bias_ih" + suffix] = d_b
                grads["bias_hh" + suffix] = d_b
    return grads


def to_time_major(values: Array, *, batched: bool, batch_first: bool) -> Array:
    """nn.RNN's output layout to the reference's (L, N, ...) layout."""
    if not batched:
        return values[:, None]
    return values.transpose(1, 0, 2) if batch_first else values


def from_time_major(values: Array, *, batched: bool, batch_first: bool) -> Array:
    """The reference's (L, N, ...) layout back to nn.RNN's layout (leading axes kept)."""
    if not batched:
        return values[..., :, 0, :]
    return np.swapaxes(values, -3, -2) if batch_first else values


def rnn_gradients(
    input: Any,
    params: Mapping[str, Any],
    hx: Any = None,
    *,
    grad_output: Any = None,
    grad_h_n: Any = None,
    nonlinearity: str = "tanh",
    batch_first: bool = False,
) -> Gradients:
    """Gradients of ``sum(grad_output * output) + sum(grad_h_n * h_n)`` for nn.RNN.

    Arguments are as for :func:`rnn_conformance.reference.rnn_forward`; a missing
    ``grad_output`` or ``grad_h_n`` is zero. The ``hx`` gradient is returned even when
    ``hx`` is ``None`` (it is the gradient at the zero initial state).

    >>> import numpy as np
    >>> p = {"weight_ih_l0": np.eye(2), "weight_hh_l0": np.eye(2), "bias_ih_l0": np.zeros(2),
    ...      "bias_hh_l0": np.zeros(2)}
    >>> g = rnn_gradients(np.zeros((3, 1, 2)), p, grad_h_n=np.ones((1, 1, 2)))
    >>> g.hx.ravel(), sorted(g.params)[:2]
    (array([1., 1.]), ['bias_hh_l0', 'bias_ih_l0'])
    """
    output, h_n, trace = rnn_forward_trace(
        input, params, hx, nonlinearity=nonlinearity, batch_first=batch_first
    )
    batched = output.ndim == 3
    return gradients_from_trace(
        trace,
        np.zeros_like(output) if grad_output is None else as_float64(grad_output),
        np.zeros_like(h_n) if grad_h_n is None else as_float64(grad_h_n),
        batched=batched,
        batch_first=batch_first,
        bias=any(name.startswith("bias") for name in params),
    )


def gradients_from_trace(
    trace: ForwardTrace,
    grad_output: Array,
    grad_h_n: Array,
    *,
    batched: bool,
    batch_first: bool,
    bias: bool,
) -> Gradients:
    """:func:`rnn_gradients` for a trace already computed (arrays in nn.RNN's layout)."""
    top = to_time_major(grad_output, batched=batched, batch_first=batch_first)
    final = grad_h_n if batched else grad_h_n[:, None]
    d_input, d_h0, weights, _ = backward_through_trace(trace, top, final)
    return assemble_gradients(
        d_input, d_h0, weights, batched=batched, batch_first=batch_first, bias=bias
    )


def assemble_gradients(
    d_input: Array,
    d_h0: Array,
    weights: list[list[tuple[Array, Array, Array]]],
    *,
    batched: bool,
    batch_first: bool,
    bias: bool,
) -> Gradients:
    """Put time-major results of :func:`backward_through_trace` in nn.RNN's layout and names."""
    return Gradients(
        input=from_time_major(d_input, batched=batched, batch_first=batch_first),
        hx=d_h0 if batched else d_h0[:, 0],
        params=parameter_gradients(weights, bias),
    )
