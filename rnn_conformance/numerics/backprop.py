"""Hand-written backpropagation through time for the NumPy reference, in float64.

Gradients of the scalar ``sum(grad_output * output) + sum(grad_h_n * h_n)`` (what
``torch.autograd.backward((output, h_n), (grad_output, grad_h_n))`` computes) with
respect to ``input``, ``hx`` and every parameter. Nothing here imports torch. For each
layer-direction, from the top layer down and from the last processed step back, the
family's backward step (:mod:`rnn_conformance.numerics.families`) turns the gradient reaching the
new state into the gradients ``a_t`` of the gate projections; the rest is shared::

    g_t   = dL/dh_t from the layer above (or grad_output) + carry   (grad_h_n at the end)
    a_t   = the family's backward step (for nn.RNN: g_t * f'(pre_t))
    carry = a_t^hh @ W_hh + whatever reaches the previous state directly (nn.LSTM's c)
    dW_ih = sum a_t^ih.T @ x_t,  dW_hh = sum a_t^hh.T @ h_{t-1},  db = sum a_t
    dx_t  = a_t^ih @ W_ih          (summed over directions, flowing to the layer below)

The pass is written in :mod:`rnn_conformance.numerics.arithmetic`, so the tolerance policy runs it
again to bound the target's rounding in its gradients.

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

from rnn_conformance.numerics.arithmetic import EXACT, Arithmetic, Array
from rnn_conformance.numerics.config import RNNConfig
from rnn_conformance.numerics.layouts import from_time_major, pack_state, state_parts, to_time_major
from rnn_conformance.numerics.parameters import parameter_name
from rnn_conformance.numerics.reference import (
    DirectionTrace,
    ForwardTrace,
    as_float64,
    forward_trace,
    infer_config,
)

__all__ = [
    "Gradients",
    "assemble",
    "backward_layers",
    "gradients_from_trace",
    "rnn_gradients",
    "time_major_seeds",
]


@dataclass(frozen=True)
class Gradients:
    """Gradients shaped like the forward call's ``input``, ``hx`` and parameters.

    ``hx`` is an array, or a tuple for a family whose state has several parts.
    """

    input: Any
    hx: Any
    params: dict[str, Any]


def _backward_direction(
    ops: Arithmetic,
    config: RNNConfig,
    run: DirectionTrace,
    from_above: Any,
    carry: tuple[Any, ...],
) -> tuple[Any, tuple[Any, ...], dict[str, Any]]:
    """One layer-direction, processing order: ``(d_inputs, d_initial, parameter grads)``."""
    reached = carry
    family = config.family
    w_hh_t = run.weights["weight_hh"].T
    grad_gi, grad_gh = [], []
    extra: dict[str, tuple[list[Any], list[Any]]] = {}
    for t in reversed(range(len(run.states))):
        reaching = (ops.add(ops.at(from_above, t), carry[0]), *carry[1:])
        step = family.step_backward(ops, config, run.caches[t], reaching, run.weights)
        grad_gi.append(step.gi)
        grad_gh.append(step.gh)
        for stem, (left, right) in step.parameters.items():
            lefts, rights = extra.setdefault(stem, ([], []))
            lefts.append(left)
            rights.append(right)
        through_hh = ops.linear(step.gh, w_hh_t)
        direct = step.state
        reached = tuple(
            (through_hh if direct[0] is None else ops.add(through_hh, direct[0]))
            if part == 0
            else (ops.zeros_like(carry[part]) if direct[part] is None else direct[part])
            for part in range(len(carry))
        )
        carry = tuple(ops.carried(part) for part in reached)
    gi, gh = ops.stack(grad_gi[::-1]), ops.stack(grad_gh[::-1])
    previous = ops.stack([run.initial[0]] + [parts[0] for parts in run.states[:-1]])
    grads = {
        "weight_ih": ops.summed_outer(gi, run.inputs),
        "weight_hh": ops.summed_outer(gh, previous),
    }
    if "bias_ih" in run.weights:
        grads["bias_ih"] = ops.summed(gi)
        grads["bias_hh"] = ops.summed(gh)
    for stem, (lefts, rights) in extra.items():
        grads[stem] = ops.summed_outer(ops.stack(lefts[::-1]), ops.stack(rights[::-1]))
    d_inputs = ops.linear(gi, run.weights["weight_ih"].T)
    # The gradient of h_0 ends here: not carried, it keeps its last step's local error.
    return d_inputs, reached, grads


def backward_layers(
    ops: Arithmetic,
    config: RNNConfig,
    layers: list[list[DirectionTrace]],
    grad_top: Any,
    grad_finals: list[tuple[Any, ...]],
) -> tuple[Any, list[tuple[Any, ...]], dict[str, Any]]:
    """Backpropagate through every layer in ``ops``, time-major and batched.

    ``grad_top`` is (L, N, D * H_out); ``grad_finals[k * D + d]`` the gradient of each
    state part of ``h_n`` for layer ``k``, direction ``d``. Returns the gradients of the
    layer-0 input (L, N, K), of each initial state (same order) and of every parameter by
    registered name.
    """
    D = len(layers[0])
    grad_above = grad_top
    grad_initial: list[tuple[Any, ...]] = [()] * (len(layers) * D)
    params: dict[str, Any] = {}
    for layer in reversed(range(len(layers))):
        grad_below = None
        pieces = ops.chunk(grad_above, D)
        for d, run in enumerate(layers[layer]):
            from_above = ops.flip(pieces[d]) if d else pieces[d]
            d_inputs, d_initial, grads = _backward_direction(
                ops, config, run, from_above, grad_finals[layer * D + d]
            )
            grad_initial[layer * D + d] = d_initial
            for stem, grad in grads.items():
                params[parameter_name(stem, layer=layer, direction=d)] = grad
            d_inputs = ops.flip(d_inputs) if d else d_inputs
            grad_below = d_inputs if grad_below is None else ops.add(grad_below, d_inputs)
        grad_above = ops.carried(grad_below) if layer else grad_below
    # Registration order, as named_parameters() lists them.
    order = config.parameter_names()
    return grad_above, grad_initial, {name: params[name] for name in order}


def time_major_seeds(
    trace: ForwardTrace, grad_output: Any, grad_h_n: Any
) -> tuple[Array, list[tuple[Array, ...]]]:
    """The seeds of a backward pass in the module's layout, made time-major and batched.

    ``grad_h_n`` may be ``None`` (zero) per part; returns the top gradient and the
    per-layer-direction tuples of state gradients.
    """
    config = trace.config
    steps, batch = trace.input.shape[:2]
    top_shape = (steps, batch, config.num_directions * config.output_size)
    top = (
        np.zeros(top_shape)
        if grad_output is None
        else to_time_major(
            as_float64(grad_output), batched=trace.batched, batch_first=config.batch_first
        )
    )
    parts = []
    for part, shape in zip(state_parts(config, grad_h_n), config.state_shapes(batch), strict=True):
        if part is None:
            parts.append(np.zeros(shape))
        else:
            value = as_float64(part)
            parts.append(value if trace.batched else value[:, None])
    finals = [tuple(part[k] for part in parts) for k in range(len(parts[0]))]
    return top, finals


def gradients_from_trace(trace: ForwardTrace, grad_output: Any, grad_h_n: Any) -> Gradients:
    """:func:`rnn_gradients` for a trace already computed (seeds in the module's layout)."""
    top, finals = time_major_seeds(trace, grad_output, grad_h_n)
    d_input, d_initial, params = backward_layers(EXACT, trace.config, trace.layers, top, finals)
    return assemble(trace, d_input, d_initial, params)


def assemble(
    trace: ForwardTrace, d_input: Any, d_initial: list[tuple[Any, ...]], params: dict[str, Any]
) -> Gradients:
    """Put time-major results of :func:`backward_layers` into the module's layout."""
    config = trace.config
    count = len(config.state_sizes)
    hx = [np.stack([grads[part] for grads in d_initial]) for part in range(count)]
    return Gradients(
        input=from_time_major(d_input, batched=trace.batched, batch_first=config.batch_first),
        hx=pack_state(config, [h if trace.batched else h[:, 0] for h in hx]),
        params=params,
    )


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

    Arguments are as for :func:`rnn_conformance.numerics.reference.elman_forward`; a missing
    ``grad_output`` or ``grad_h_n`` is zero. The ``hx`` gradient is returned even when
    ``hx`` is ``None`` (it is the gradient at the zero initial state).

    >>> import numpy as np
    >>> p = {"weight_ih_l0": np.eye(2), "weight_hh_l0": np.eye(2), "bias_ih_l0": np.zeros(2),
    ...      "bias_hh_l0": np.zeros(2)}
    >>> g = rnn_gradients(np.zeros((3, 1, 2)), p, grad_h_n=np.ones((1, 1, 2)))
    >>> g.hx.ravel(), sorted(g.params)[:2]
    (array([1., 1.]), ['bias_hh_l0', 'bias_ih_l0'])
    """
    config = infer_config(params, nonlinearity=nonlinearity, batch_first=batch_first)
    _, _, trace = forward_trace(config, input, params, hx)
    return gradients_from_trace(trace, grad_output, grad_h_n)
