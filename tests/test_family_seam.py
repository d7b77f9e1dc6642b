"""A new family is one module and one registry entry: two toy families prove the seam.

Each toy below is all a family writes (its step and backward step in the shared
arithmetic); the layer loop, layouts, BPTT and error bounds come from the seam. The
reference and hand-written gradients are checked against a direct torch float64
implementation of the same recurrence under autograd, so the shared code is right for a
gated cell that reads ``h`` directly and for a state with two parts.
"""

from typing import ClassVar

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from rnn_conformance.backprop import gradients_from_trace
from rnn_conformance.config import RNNConfig
from rnn_conformance.families import FAMILIES, Family, StepGradients, family_named
from rnn_conformance.reference import forward_trace
from rnn_conformance.tolerances import (
    Precision,
    assert_within,
    forward_error_bounds,
    gradients_and_error_bounds,
)


class ToyGated(Family):
    """``f = sigmoid(.)``, ``n = tanh(.)``, ``h' = f * h + (1 - f) * n``: reads h directly."""

    name: ClassVar[str] = "toy_gated"
    title: ClassVar[str] = "nn.ToyGated"
    module_target: ClassVar[str] = "torch.nn:RNN"
    cell_target: ClassVar[str] = "torch.nn:RNNCell"
    gates: ClassVar[int] = 2

    def step(self, ops, config, gi, gh, state, weights):
        f_pre, n_pre = ops.chunk(ops.add(gi, gh), 2)
        f, n = ops.sigmoid(f_pre), ops.tanh(n_pre)
        h = ops.add(ops.mul(f, state[0]), ops.mul(ops.one_minus(f), n))
        return (h,), (f, n, state[0])

    def step_backward(self, ops, config, cache, grads, weights):
        f, n, h = cache
        g = grads[0]
        d_f = ops.mul(ops.mul(g, ops.sub(h, n)), ops.mul(f, ops.one_minus(f)))
        d_n = ops.mul(ops.mul(g, ops.one_minus(f)), ops.one_minus(ops.mul(n, n)))
        gates = ops.cat([d_f, d_n])
        return StepGradients(gi=gates, gh=gates, state=(ops.mul(g, f),))


class ToyCellState(Family):
    """``c' = f * c + tanh(.)``, ``h' = tanh(c')``: a state of two parts, ``(h, c)``."""

    name: ClassVar[str] = "toy_cell_state"
    title: ClassVar[str] = "nn.ToyCellState"
    module_target: ClassVar[str] = "torch.nn:RNN"
    cell_target: ClassVar[str] = "torch.nn:RNNCell"
    gates: ClassVar[int] = 2
    state_names: ClassVar[tuple[str, ...]] = ("h", "c")

    def step(self, ops, config, gi, gh, state, weights):
        g_pre, f_pre = ops.chunk(ops.add(gi, gh), 2)
        g, f = ops.tanh(g_pre), ops.sigmoid(f_pre)
        c = ops.add(ops.mul(f, state[1]), g)
        h = ops.tanh(c)
        return (h, c), (g, f, state[1], h)

    def step_backward(self, ops, config, cache, grads, weights):
        g, f, c_prev, h = cache
        d_c = ops.add(grads[1], ops.mul(grads[0], ops.one_minus(ops.mul(h, h))))
        d_g = ops.mul(d_c, ops.one_minus(ops.mul(g, g)))
        d_f = ops.mul(ops.mul(d_c, c_prev), ops.mul(f, ops.one_minus(f)))
        gates = ops.cat([d_g, d_f])
        return StepGradients(gi=gates, gh=gates, state=(None, ops.mul(d_c, f)))


def torch_step(family: str, gi, gh, state):
    """The same recurrences written directly in torch, for autograd to differentiate."""
    a, b = (gi + gh).chunk(2, dim=-1)
    if family == "toy_gated":
        f, n = torch.sigmoid(a), torch.tanh(b)
        return (f * state[0] + (1 - f) * n,)
    g, f = torch.tanh(a), torch.sigmoid(b)
    c = f * state[1] + g
    return (torch.tanh(c), c)


def torch_forward(config: RNNConfig, x, params, initial):
    """Layers and directions written directly: (output, parts of h_n), time-major batched."""
    D, layer_input, finals = config.num_directions, x, []
    for layer in range(config.num_layers):
        outs = []
        for d in range(D):
            sfx = f"_l{layer}" + ("_reverse" if d else "")
            seq = layer_input.flip(0) if d else layer_input
            state = tuple(part[layer * D + d] for part in initial)
            hs = []
            for t in range(seq.shape[0]):
                gi = seq[t] @ params["weight_ih" + sfx].T
                gh = state[0] @ params["weight_hh" + sfx].T
                if config.bias:
                    gi, gh = gi + params["bias_ih" + sfx], gh + params["bias_hh" + sfx]
                state = torch_step(config.family_name, gi, gh, state)
                hs.append(state[0])
            finals.append(state)
            out = torch.stack(hs)
            outs.append(out.flip(0) if d else out)
        layer_input = torch.cat(outs, dim=-1)
    parts = [torch.stack([f[i] for f in finals]) for i in range(len(initial))]
    return layer_input, parts


@pytest.fixture(autouse=True)
def registered(monkeypatch):
    for family in (ToyGated(), ToyCellState()):
        monkeypatch.setitem(FAMILIES, family.name, family)


def test_a_registered_family_is_named_and_shapes_follow_its_gates_and_state():
    config = RNNConfig(3, 4, num_layers=2, bidirectional=True, family_name="toy_cell_state")
    assert family_named("toy_cell_state").title == "nn.ToyCellState"
    assert config.parameter_shapes()["weight_ih_l1_reverse"] == (8, 8)
    assert config.state_shapes(5) == ((4, 5, 4), (4, 5, 4))
    assert "nonlinearity" not in config.constructor_kwargs()
    with pytest.raises(ValueError, match=r"nn\.ToyGated takes no nonlinearity"):
        RNNConfig(3, 4, nonlinearity="relu", family_name="toy_gated")


configs = st.builds(
    RNNConfig,
    input_size=st.integers(1, 4),
    hidden_size=st.integers(1, 5),
    num_layers=st.integers(1, 2),
    bias=st.booleans(),
    batch_first=st.booleans(),
    bidirectional=st.booleans(),
    family_name=st.sampled_from(["toy_gated", "toy_cell_state"]),
)


@settings(max_examples=30, deadline=None)
@given(
    config=configs,
    steps=st.integers(1, 5),
    batch=st.none() | st.integers(1, 3),
    seed=st.integers(0, 9),
)
def test_shared_forward_and_backward_match_autograd_of_the_direct_recurrence(
    config, steps, batch, seed
):
    rng = np.random.default_rng(seed)
    params = {n: rng.uniform(-0.6, 0.6, s) for n, s in config.parameter_shapes().items()}
    x = rng.uniform(-1, 1, config.input_shape(steps, batch))
    hx = tuple(rng.uniform(-1, 1, s) for s in config.state_shapes(batch))
    hx_arg = hx[0] if len(hx) == 1 else hx
    output, h_n, trace = forward_trace(config, x, params, hx_arg)
    grad_output = rng.uniform(-1, 1, output.shape)
    grad_h_n = tuple(rng.uniform(-1, 1, np.shape(p)) for p in (h_n if len(hx) > 1 else (h_n,)))
    grads = gradients_from_trace(trace, grad_output, grad_h_n[0] if len(hx) == 1 else grad_h_n)

    leaves = {n: torch.tensor(v, requires_grad=True) for n, v in params.items()}
    xt = torch.tensor(x, requires_grad=True)
    ht = [torch.tensor(h, requires_grad=True) for h in hx]
    batched = batch is not None
    tm = xt if not batched else (xt.transpose(0, 1) if config.batch_first else xt)
    tm = tm if batched else tm[:, None]
    initial = [h if batched else h[:, None] for h in ht]
    out, parts = torch_forward(config, tm, leaves, initial)
    out = out if batched else out[:, 0]
    out = out.transpose(0, 1) if batched and config.batch_first else out
    parts = [p if batched else p[:, 0] for p in parts]
    np.testing.assert_allclose(output, out.detach().numpy(), rtol=0, atol=1e-12)
    for mine, theirs in zip(h_n if len(hx) > 1 else (h_n,), parts, strict=True):
        np.testing.assert_allclose(mine, theirs.detach().numpy(), rtol=0, atol=1e-12)

    seeds = [torch.tensor(grad_output)] + [torch.tensor(g) for g in grad_h_n]
    wanted = torch.autograd.grad([out, *parts], [xt, *ht, *leaves.values()], seeds)
    mine = [grads.input, *(grads.hx if len(hx) > 1 else (grads.hx,)), *grads.params.values()]
    assert list(grads.params) == list(leaves)
    for got, want in zip(mine, wanted, strict=True):
        np.testing.assert_allclose(got, want.numpy(), rtol=0, atol=1e-11)


@settings(max_examples=15, deadline=None)
@given(config=configs, steps=st.integers(1, 8), batch=st.integers(1, 3), seed=st.integers(0, 9))
def test_float32_runs_of_a_new_family_fall_within_its_bounds(config, steps, batch, seed):
    """The bounds need nothing from the family beyond its step: a float32 run fits them."""
    rng = np.random.default_rng(seed)
    params = {n: rng.uniform(-0.6, 0.6, s) for n, s in config.parameter_shapes().items()}
    x = rng.uniform(-1, 1, config.input_shape(steps, batch))
    hx = tuple(rng.uniform(-1, 1, s) for s in config.state_shapes(batch))
    rounded = {n: v.astype(np.float32).astype(np.float64) for n, v in params.items()}
    x, hx = x.astype(np.float32).astype(np.float64), tuple(h.astype(np.float32) for h in hx)
    hx_arg = hx[0] if len(hx) == 1 else hx
    output, h_n, trace = forward_trace(config, x, rounded, hx_arg)
    bounds = forward_error_bounds(trace, Precision.of("float32"))

    leaves = {
        n: torch.tensor(v, dtype=torch.float32, requires_grad=True) for n, v in rounded.items()
    }
    xt = torch.tensor(x, dtype=torch.float32, requires_grad=True)
    ht = [torch.tensor(h, requires_grad=True) for h in hx]
    tm = xt.transpose(0, 1) if config.batch_first else xt
    out, parts = torch_forward(config, tm, leaves, ht)
    out = out.transpose(0, 1) if config.batch_first else out
    actual_h_n = tuple(p.detach().double().numpy() for p in parts)
    context = f"float32 {config.describe()}"
    assert_within(
        out.detach().double().numpy(),
        output,
        bounds.output,
        what="output",
        axes=("a", "b", "c"),
        context=context,
    )
    assert_within(
        actual_h_n if len(hx) > 1 else actual_h_n[0],
        h_n,
        bounds.h_n,
        what="h_n",
        axes=("a", "b", "c"),
        context=context,
    )

    grad_output = rng.uniform(-1, 1, output.shape)
    grad_h_n = tuple(rng.uniform(-1, 1, np.shape(p)) for p in (h_n if len(hx) > 1 else (h_n,)))
    exact, bound = gradients_and_error_bounds(
        trace, bounds, grad_output, grad_h_n[0] if len(hx) == 1 else grad_h_n
    )
    seeds = [torch.tensor(grad_output, dtype=torch.float32)] + [
        torch.tensor(g, dtype=torch.float32) for g in grad_h_n
    ]
    got = torch.autograd.grad([out, *parts], [xt, *ht, *leaves.values()], seeds)
    want = [exact.input, *(exact.hx if len(hx) > 1 else (exact.hx,)), *exact.params.values()]
    allowed = [bound.input, *(bound.hx if len(hx) > 1 else (bound.hx,)), *bound.params.values()]
    for g, w, b in zip(got, want, allowed, strict=True):
        assert_within(g.double().numpy(), w, b, what="gradient", axes=(), context=context)
