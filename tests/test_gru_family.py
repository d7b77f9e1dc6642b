"""The nn.GRU family module against torch.nn.GRU: reference, hand-written BPTT, bounds."""

import numpy as np
import pytest
import torch
from calibration import forward_ratio, gradient_ratio, module_and_inputs
from hypothesis import find, given, settings
from hypothesis import strategies as st

from rnn_conformance.generation.strategies import hidden_states, rnn_configs
from rnn_conformance.numerics.arithmetic import EXACT
from rnn_conformance.numerics.backprop import gradients_from_trace
from rnn_conformance.numerics.config import RNNConfig
from rnn_conformance.numerics.families.gru import GRU
from rnn_conformance.numerics.reference import cell_forward, forward_trace


@st.composite
def gru_configs(draw, max_hidden=24):
    return RNNConfig(
        input_size=draw(st.integers(1, 12)),
        hidden_size=draw(st.integers(1, max_hidden)),
        num_layers=draw(st.integers(1, 3)),
        bias=draw(st.booleans()),
        batch_first=draw(st.booleans()),
        bidirectional=draw(st.booleans()),
        family="gru",
    )


def test_layout_and_constructor_rules_are_nn_gru_s():
    config = RNNConfig(3, 5, num_layers=2, bidirectional=True, family="gru")
    module = torch.nn.GRU(**config.constructor_kwargs())
    assert {n: tuple(p.shape) for n, p in module.named_parameters()} == config.parameter_shapes()
    assert list(config.parameter_shapes()) == [n for n, _ in module.named_parameters()]
    assert config.parameter_shapes()["weight_hh_l1_reverse"] == (15, 5)
    assert config.state_shapes(7) == ((4, 7, 5),)
    assert repr(config) == (
        "RNNConfig(input_size=3, hidden_size=5, num_layers=2, bias=True, batch_first=False, "
        "dropout=0.0, bidirectional=True, family='gru')"
    )
    with pytest.raises(ValueError, match="takes no proj_size"):
        RNNConfig(3, 5, proj_size=2, family="gru")
    with pytest.raises(ValueError, match="only supported for LSTM"):
        torch.nn.GRU(3, 5, proj_size=2)
    with pytest.raises(ValueError, match="takes no nonlinearity"):
        RNNConfig(3, 5, nonlinearity="relu", family="gru")
    with pytest.raises(TypeError, match="nonlinearity"):
        torch.nn.GRU(3, 5, nonlinearity="tanh")


def test_a_tuple_hx_raises_what_torch_raises():
    module, x, h = torch.nn.GRU(3, 4), torch.zeros(5, 2, 3), torch.zeros(1, 2, 4)
    for hx in ((h,), (h, h)):
        with pytest.raises(AttributeError):
            module(x, hx)


@settings(max_examples=25, deadline=None)
@given(
    config=gru_configs(),
    steps=st.integers(1, 6),
    batch=st.none() | st.integers(1, 3),
    with_hx=st.booleans(),
    seed=st.integers(0, 99),
)
def test_reference_and_bptt_equal_torch_gru_in_float64(config, steps, batch, with_hx, seed):
    module, x, hx = module_and_inputs(config, steps, batch, torch.float64, seed)
    hx = hx if with_hx else None
    params = dict(module.named_parameters())
    output, h_n, trace = forward_trace(config, x, params, hx)
    x.requires_grad_()
    out, h = module(x, hx if hx is None else hx.requires_grad_())
    np.testing.assert_allclose(output, out.detach().numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(h_n, h.detach().numpy(), rtol=0, atol=1e-12)

    rng = np.random.default_rng(seed)
    seeds = [rng.uniform(-1, 1, t.shape) for t in (out, h)]
    grads = gradients_from_trace(trace, seeds[0], seeds[1])
    leaves = [x, *([] if hx is None else [hx]), *params.values()]
    wanted = torch.autograd.grad((out, h), leaves, [torch.tensor(s) for s in seeds])
    mine = [grads.input, *([] if hx is None else [grads.hx]), *grads.params.values()]
    assert list(grads.params) == list(params)
    for got, want in zip(mine, wanted, strict=True):
        np.testing.assert_allclose(got, want.numpy(), rtol=0, atol=1e-11)


@settings(max_examples=25, deadline=None)
@given(
    config=gru_configs(),
    batch=st.none() | st.integers(1, 4),
    with_hx=st.booleans(),
    seed=st.integers(0, 99),
)
def test_reference_cell_step_equals_torch_gru_cell_in_float64(config, batch, with_hx, seed):
    torch.manual_seed(seed)
    cell = torch.nn.GRUCell(**config.cell_kwargs(), dtype=torch.float64)
    gen = torch.Generator().manual_seed(seed)
    rows = () if batch is None else (batch,)
    x = torch.rand(*rows, config.input_size, generator=gen, dtype=torch.float64) * 4 - 2
    hx = torch.rand(*rows, config.hidden_size, generator=gen, dtype=torch.float64) * 2 - 1
    hx = hx if with_hx else None
    expected = cell_forward(config, x, hx, dict(cell.named_parameters()))
    np.testing.assert_allclose(expected, cell(x, hx).detach().numpy(), rtol=0, atol=1e-12)


def test_the_new_gate_s_input_and_hidden_biases_get_different_gradients():
    # n = tanh(gi_n + r * gh_n): b_in's gradient is d(n_pre), b_hn's d(n_pre) * r. The r
    # and z blocks of both biases enter one sum and get the same gradient.
    config = RNNConfig(2, 3, family="gru")
    module, x, hx = module_and_inputs(config, 4, 2, torch.float64, 0)
    _, _, trace = forward_trace(config, x, dict(module.named_parameters()), hx)
    grads = gradients_from_trace(trace, np.ones((4, 2, 3)), None)
    b_ih, b_hh = grads.params["bias_ih_l0"], grads.params["bias_hh_l0"]
    np.testing.assert_array_equal(b_ih[:6], b_hh[:6])
    assert np.abs(b_ih[6:] - b_hh[6:]).min() > 1e-3
    out, _ = module(x, hx)
    out.sum().backward()
    np.testing.assert_allclose(b_ih, module.bias_ih_l0.grad.numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(b_hh, module.bias_hh_l0.grad.numpy(), rtol=0, atol=1e-12)


def test_the_reset_gate_multiplies_the_hidden_bias_too():
    # W = 0 everywhere: r = z = 1/2 and n = tanh(b_in + b_hn / 2), not tanh(b_in + b_hn).
    config = RNNConfig(1, 1, family="gru")
    gh = np.array([[0.0, 0.0, 1.0]])
    (h,), _ = GRU.step(EXACT, config, np.zeros((1, 3)), gh, (np.zeros((1, 1)),), {})
    assert h[0, 0] == pytest.approx(0.5 * np.tanh(0.5))


SIZES = dict(steps=st.integers(4, 30), batch=st.integers(2, 5), seed=st.integers(0, 99))


@settings(max_examples=20, deadline=None)
@given(config=gru_configs(max_hidden=64), **SIZES)
def test_float32_nn_gru_stays_below_a_quarter_of_the_bound(config, steps, batch, seed):
    assert forward_ratio(config, torch.float32, steps=steps, batch=batch, seed=seed) < 0.25


@settings(max_examples=12, deadline=None)
@given(config=gru_configs(max_hidden=64).filter(lambda c: c.hidden_size >= 4), **SIZES)
def test_bfloat16_inside_a_float32_gru_exceeds_the_bound(config, steps, batch, seed):
    ratio = forward_ratio(
        config, torch.float32, torch.bfloat16, steps=steps, batch=batch, seed=seed
    )
    assert ratio > 1


@settings(max_examples=8, deadline=None)
@given(config=gru_configs(max_hidden=64).filter(lambda c: c.hidden_size >= 4), **SIZES)
def test_float32_inside_a_float64_gru_exceeds_the_bound(config, steps, batch, seed):
    ratio = forward_ratio(config, torch.float64, torch.float32, steps=steps, batch=batch, seed=seed)
    assert ratio > 1


@settings(max_examples=10, deadline=None)
@given(config=gru_configs(max_hidden=32), **SIZES)
def test_float32_nn_gru_gradients_stay_inside_the_bound(config, steps, batch, seed):
    assert gradient_ratio(config, steps=steps, batch=batch, seed=seed) < 0.5


def test_gru_configs_draw_no_family_arguments_and_shrink_to_the_smallest():
    configs = rnn_configs(family="gru")
    assert repr(configs) == "rnn_configs(family='gru')"
    minimal = find(configs, lambda c: True, settings=settings(database=None))
    assert minimal == RNNConfig(1, 1, family="gru")
    state = hidden_states(RNNConfig(2, 3, num_layers=2, family="gru"), 4).filter(
        lambda h: h is not None
    )
    assert find(state, lambda h: True, settings=settings(database=None)).shape == (2, 4, 3)


@settings(max_examples=25, deadline=None)
@given(config=rnn_configs(family="gru"))
def test_drawn_gru_configs_are_valid_for_nn_gru(config):
    assert config.options == ()
    module = torch.nn.GRU(**config.constructor_kwargs())
    assert list(config.parameter_shapes()) == [name for name, _ in module.named_parameters()]
