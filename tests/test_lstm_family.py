"""The nn.LSTM family module against torch.nn.LSTM: reference, hand-written BPTT, bounds."""

import numpy as np
import pytest
import torch
from calibration import forward_ratio, gradient_ratio, module_and_inputs
from hypothesis import find, given, settings
from hypothesis import strategies as st

from rnn_conformance.generation.strategies import hidden_states, rnn_configs
from rnn_conformance.numerics.backprop import gradients_from_trace
from rnn_conformance.numerics.config import RNNConfig
from rnn_conformance.numerics.reference import forward_trace

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
        family="lstm",
    )


def test_layout_and_constructor_rules_are_nn_lstm_s():
    config = RNNConfig(3, 5, num_layers=2, bidirectional=True, proj_size=2, family="lstm")
    module = torch.nn.LSTM(**config.constructor_kwargs())
    assert {n: tuple(p.shape) for n, p in module.named_parameters()} == config.parameter_shapes()
    assert list(config.parameter_shapes()) == [n for n, _ in module.named_parameters()]
    assert config.state_shapes(7) == ((4, 7, 2), (4, 7, 5))
    for proj_size, message in ((-1, "positive integer or zero"), (5, "smaller than hidden")):
        with pytest.raises(ValueError, match=message):
            RNNConfig(3, 5, proj_size=proj_size, family="lstm")
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
    module, x, hx = module_and_inputs(config, steps, batch, torch.float64, seed)
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


SIZES = dict(steps=st.integers(4, 30), batch=st.integers(2, 5), seed=st.integers(0, 99))


@settings(max_examples=20, deadline=None)
@given(config=lstm_configs(max_hidden=64), **SIZES)
def test_float32_nn_lstm_stays_below_a_quarter_of_the_bound(config, steps, batch, seed):
    assert forward_ratio(config, torch.float32, steps=steps, batch=batch, seed=seed) < 0.25


@settings(max_examples=12, deadline=None)
@given(config=lstm_configs(max_hidden=64).filter(lambda c: c.hidden_size >= 4), **SIZES)
def test_bfloat16_inside_a_float32_lstm_exceeds_the_bound(config, steps, batch, seed):
    ratio = forward_ratio(
        config, torch.float32, torch.bfloat16, steps=steps, batch=batch, seed=seed
    )
    assert ratio > 1


@settings(max_examples=8, deadline=None)
@given(config=lstm_configs(max_hidden=64).filter(lambda c: c.hidden_size >= 4), **SIZES)
def test_float32_inside_a_float64_lstm_exceeds_the_bound(config, steps, batch, seed):
    ratio = forward_ratio(config, torch.float64, torch.float32, steps=steps, batch=batch, seed=seed)
    assert ratio > 1


@settings(max_examples=10, deadline=None)
@given(config=lstm_configs(max_hidden=32), **SIZES)
def test_float32_nn_lstm_gradients_stay_inside_the_bound(config, steps, batch, seed):
    assert gradient_ratio(config, steps=steps, batch=batch, seed=seed) < 0.5


def test_lstm_configs_draw_a_projection_below_hidden_size_and_shrink_to_none():
    configs = rnn_configs(family="lstm")
    assert repr(configs) == "rnn_configs(family='lstm')"
    minimal = find(configs, lambda c: True, settings=settings(database=None))
    assert minimal == RNNConfig(1, 1, family="lstm")
    projected = find(configs, lambda c: c.option("proj_size") > 0, settings=settings(database=None))
    assert (projected.hidden_size, projected.option("proj_size")) == (2, 1)
    state = hidden_states(projected, 3, allow_none=False).example()
    assert [part.shape for part in state] == [(1, 3, 1), (1, 3, 2)]


@settings(max_examples=25, deadline=None)
@given(config=rnn_configs(family="lstm"))
def test_drawn_lstm_configs_are_valid_for_nn_lstm(config):
    assert 0 <= config.option("proj_size") < config.hidden_size
    module = torch.nn.LSTM(**config.constructor_kwargs())
    assert list(config.parameter_shapes()) == [name for name, _ in module.named_parameters()]
