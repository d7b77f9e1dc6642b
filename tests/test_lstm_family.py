"""The nn.LSTM family module against torch.nn.LSTM: reference, hand-written BPTT, bounds."""

import copy

import numpy as np
import pytest
import torch
from hypothesis import find, given, settings
from hypothesis import strategies as st

from rnn_conformance.backprop import gradients_from_trace
from rnn_conformance.config import RNNConfig
from rnn_conformance.reference import forward_trace
from rnn_conformance.strategies import hidden_states, rnn_configs
from rnn_conformance.tolerances import (
    SAFETY,
    Precision,
    forward_error_bounds,
    gradients_and_error_bounds,
)

# torch's own notice that oneDNN has no projected LSTM and its reference kernel runs instead.
pytestmark = pytest.mark.filterwarnings("ignore:LSTM with projections is not supported")


@st.composite
def lstm_configs(draw, max_hidden=24):
    hidden = draw(st.integers(1, max_hidden))
    return RNNConfig(
        input_size=draw(st.integers(1, 12)),
        hidden_size=hidden,
        num_layers=draw(st.integers(1, 3)),
        bias=draw(st.booleans()),
        batch_first=draw(st.booleans()),
        bidirectional=draw(st.booleans()),
        proj_size=draw(st.integers(0, hidden - 1)),
        family_name="lstm",
    )


def _module(config, dtype, seed):
    torch.manual_seed(seed)
    return torch.nn.LSTM(**config.constructor_kwargs(), dtype=dtype).eval()


def _inputs(config, steps, batch, dtype, seed):
    gen = torch.Generator().manual_seed(seed)
    x = (torch.rand(config.input_shape(steps, batch), generator=gen, dtype=dtype) * 2 - 1) * 2
    hx = tuple(
        torch.rand(shape, generator=gen, dtype=dtype) * 2 - 1
        for shape in config.state_shapes(batch)
    )
    return x, hx


def test_layout_and_constructor_rules_are_nn_lstm_s():
    config = RNNConfig(3, 5, num_layers=2, bidirectional=True, proj_size=2, family_name="lstm")
    module = torch.nn.LSTM(**config.constructor_kwargs())
    assert {n: tuple(p.shape) for n, p in module.named_parameters()} == config.parameter_shapes()
    assert list(config.parameter_shapes()) == [n for n, _ in module.named_parameters()]
    assert config.state_shapes(7) == ((4, 7, 2), (4, 7, 5))
    for proj_size, message in ((-1, "positive integer or zero"), (5, "smaller than hidden")):
        with pytest.raises(ValueError, match=message):
            RNNConfig(3, 5, proj_size=proj_size, family_name="lstm")
        with pytest.raises(ValueError, match=message):
            torch.nn.LSTM(3, 5, proj_size=proj_size)


@settings(max_examples=25, deadline=None)
@given(
    config=lstm_configs(),
    steps=st.integers(1, 6),
    batch=st.none() | st.integers(1, 3),
    seed=st.integers(0, 99),
)
def test_reference_and_bptt_equal_torch_lstm_in_float64(config, steps, batch, seed):
    module = _module(config, torch.float64, seed)
    x, hx = _inputs(config, steps, batch, torch.float64, seed)
    params = dict(module.named_parameters())
    output, h_n, trace = forward_trace(config, x, params, hx)
    x.requires_grad_()
    for part in hx:
        part.requires_grad_()
    out, (h, c) = module(x, hx)
    np.testing.assert_allclose(output, out.detach().numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(h_n[0], h.detach().numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(h_n[1], c.detach().numpy(), rtol=0, atol=1e-12)

    rng = np.random.default_rng(seed)
    seeds = [rng.uniform(-1, 1, t.shape) for t in (out, h, c)]
    grads = gradients_from_trace(trace, seeds[0], (seeds[1], seeds[2]))
    wanted = torch.autograd.grad(
        (out, h, c), [x, *hx, *params.values()], [torch.tensor(s) for s in seeds]
    )
    mine = [grads.input, *grads.hx, *grads.params.values()]
    assert list(grads.params) == list(params)
    for got, want in zip(mine, wanted, strict=True):
        np.testing.assert_allclose(got, want.numpy(), rtol=0, atol=1e-11)


def _ratio(config, dtype, low_dtype=None, *, steps, batch, seed):
    """Largest error / allowed over output, h_n and c_n for nn.LSTM in dtype (run in low)."""
    module = _module(config, dtype, seed)
    x, hx = _inputs(config, steps, batch, dtype, seed)
    run = module if low_dtype is None else copy.deepcopy(module).to(low_dtype)
    low = run.weight_ih_l0.dtype
    with torch.no_grad():
        out, (h, c) = run(x.to(low), tuple(p.to(low) for p in hx))
    output, h_n, trace = forward_trace(config, x, dict(module.named_parameters()), hx)
    bounds = forward_error_bounds(trace, Precision.of(dtype))
    pairs = ((out, output, bounds.output), (h, h_n[0], bounds.h_n[0]), (c, h_n[1], bounds.h_n[1]))
    worst = 0.0
    for actual, expected, bound in pairs:
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.abs(actual.double().numpy() - expected) / (SAFETY * bound)
        worst = max(worst, float(np.nan_to_num(ratio, nan=0.0, posinf=0.0).max()))
    return worst


SIZES = dict(steps=st.integers(4, 30), batch=st.integers(2, 5), seed=st.integers(0, 99))


@settings(max_examples=20, deadline=None)
@given(config=lstm_configs(max_hidden=64), **SIZES)
def test_float32_nn_lstm_stays_below_a_quarter_of_the_bound(config, steps, batch, seed):
    assert _ratio(config, torch.float32, steps=steps, batch=batch, seed=seed) < 0.25


@settings(max_examples=12, deadline=None)
@given(config=lstm_configs(max_hidden=64).filter(lambda c: c.hidden_size >= 4), **SIZES)
def test_bfloat16_inside_a_float32_lstm_exceeds_the_bound(config, steps, batch, seed):
    ratio = _ratio(config, torch.float32, torch.bfloat16, steps=steps, batch=batch, seed=seed)
    assert ratio > 1


@settings(max_examples=8, deadline=None)
@given(config=lstm_configs(max_hidden=64).filter(lambda c: c.hidden_size >= 4), **SIZES)
def test_float32_inside_a_float64_lstm_exceeds_the_bound(config, steps, batch, seed):
    ratio = _ratio(config, torch.float64, torch.float32, steps=steps, batch=batch, seed=seed)
    assert ratio > 1


@settings(max_examples=10, deadline=None)
@given(config=lstm_configs(max_hidden=32), **SIZES)
def test_float32_nn_lstm_gradients_stay_inside_the_bound(config, steps, batch, seed):
    module = _module(config, torch.float32, seed)
    x, hx = _inputs(config, steps, batch, torch.float32, seed)
    params = dict(module.named_parameters())
    output, h_n, trace = forward_trace(config, x, params, hx)
    precision = Precision.of("float32")
    rng = np.random.default_rng(seed)
    seeds = [rng.uniform(-1, 1, np.shape(a)).astype(np.float32) for a in (output, *h_n)]
    exact, bounds = gradients_and_error_bounds(
        trace, forward_error_bounds(trace, precision), seeds[0], (seeds[1], seeds[2])
    )
    leaves = [x.requires_grad_(), *(p.requires_grad_() for p in hx), *params.values()]
    out, (h, c) = module(x, hx)
    got = torch.autograd.grad((out, h, c), leaves, [torch.tensor(s) for s in seeds])
    want = [exact.input, *exact.hx, *exact.params.values()]
    allowed = [bounds.input, *bounds.hx, *bounds.params.values()]
    for g, w, b in zip(got, want, allowed, strict=True):
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.abs(g.double().numpy() - w) / (SAFETY * b)
        assert float(np.nan_to_num(ratio, nan=0.0, posinf=0.0).max()) < 0.5


def test_lstm_configs_draw_a_projection_below_hidden_size_and_shrink_to_none():
    configs = rnn_configs(family="lstm")
    assert repr(configs) == "rnn_configs(family='lstm')"
    minimal = find(configs, lambda c: True, settings=settings(database=None))
    assert minimal == RNNConfig(1, 1, family_name="lstm")
    projected = find(configs, lambda c: c.proj_size > 0, settings=settings(database=None))
    assert (projected.hidden_size, projected.proj_size) == (2, 1)
    state = hidden_states(projected, 3, allow_none=False).example()
    assert [part.shape for part in state] == [(1, 3, 1), (1, 3, 2)]


@settings(max_examples=25, deadline=None)
@given(config=rnn_configs(family="lstm"))
def test_drawn_lstm_configs_are_valid_for_nn_lstm(config):
    assert 0 <= config.proj_size < config.hidden_size
    module = torch.nn.LSTM(**config.constructor_kwargs())
    assert list(config.parameter_shapes()) == [name for name, _ in module.named_parameters()]
