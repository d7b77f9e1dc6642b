"""The public strategies generate what they promise, validate bounds and reach far enough."""

import numpy as np
import pytest
import torch
from hypothesis import Phase, find, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from rnn_conformance.config import RNNConfig
from rnn_conformance.harness import to_tensor
from rnn_conformance.strategies import (
    MEMORY_LAYOUTS,
    rnn_cases,
    rnn_configs,
    rnn_parameters,
    round_to_dtype,
)


@given(rnn_configs(max_input_size=5, max_hidden_size=6, max_layers=2))
def test_configs_respect_bounds(config):
    assert 1 <= config.input_size <= 5
    assert 1 <= config.hidden_size <= 6
    assert 1 <= config.num_layers <= 2
    assert config.dropout == 0.0 or config.num_layers > 1


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(max_input_size=0),
        dict(max_hidden_size=-1),
        dict(max_layers=1.5),
        dict(nonlinearities=("gelu",)),
        dict(nonlinearities=()),
        dict(dropouts=(1.5,)),
        dict(bias="yes"),
    ],
)
def test_config_bounds_are_validated(kwargs):
    with pytest.raises(InvalidArgument):
        rnn_configs(**kwargs).example()


def test_configs_shrink_to_the_simplest():
    assert find(rnn_configs(), lambda c: True) == RNNConfig(1, 1)


@pytest.mark.parametrize(
    "condition",
    [
        lambda c: c.config.hidden_size > 32,
        lambda c: c.seq_len > 40,
        lambda c: c.batch_size is not None and c.batch_size > 8,
        lambda c: c.batch_size == 0,
        lambda c: c.batch_size is None,
        lambda c: c.config.nonlinearity == "relu" and np.abs(c.input).max(initial=0) >= 20,
        lambda c: c.config.num_layers == 3 and c.config.bidirectional,
    ],
    ids=["hidden>32", "seq>40", "batch>8", "batch=0", "unbatched", "relu-large", "deep-bidir"],
)
def test_defaults_reach_large_and_edge_cases(condition):
    find(
        rnn_cases(),
        condition,
        settings=settings(max_examples=2000, database=None, phases=[Phase.generate]),
    )


@settings(max_examples=50)
@given(rnn_cases(dtypes=("float32", "float64", "bfloat16", "float16")))
def test_cases_are_consistent_and_exact_in_their_dtype(case):
    assert case.input.shape == case.config.input_shape(case.seq_len, case.batch_size)
    if case.hx is not None:
        assert case.hx.shape == case.config.hidden_shape(case.batch_size)
    assert {k: v.shape for k, v in case.params.items()} == case.config.parameter_shapes()
    torch_dtype = getattr(torch, case.dtype)
    for array in [case.input, *case.params.values()]:
        back = torch.tensor(array).to(torch_dtype).double().numpy()
        np.testing.assert_array_equal(back, array)


@given(st.data())
def test_parameters_are_within_init_bounds(data):
    config = data.draw(rnn_configs())
    params = data.draw(rnn_parameters(config))
    k = 1 / np.sqrt(config.hidden_size)
    assert all(np.abs(v).max() <= k * (1 + 2**-23) for v in params.values())


def test_round_to_bfloat16_matches_torch():
    values = np.random.default_rng(0).normal(size=1000) * 10.0 ** np.arange(-5, 5).repeat(100)
    expected = torch.tensor(values).to(torch.bfloat16).double().numpy()
    np.testing.assert_array_equal(round_to_dtype(values, "bfloat16"), expected)


@pytest.mark.parametrize("layout", MEMORY_LAYOUTS)
def test_memory_layouts_keep_values_and_change_strides(layout):
    values = np.arange(24.0).reshape(2, 3, 4)
    tensor = to_tensor(values, dtype="float32", device="cpu", memory_layout=layout)
    np.testing.assert_array_equal(tensor.numpy(), values)
    assert tensor.is_contiguous() == (layout == "contiguous")
