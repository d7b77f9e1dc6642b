"""The public strategies generate what they promise, validate bounds and reach far enough."""

import re

import numpy as np
import pytest
import torch
from hypothesis import Phase, find, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from rnn_conformance.generation import cases, strategies
from rnn_conformance.generation.strategies import (
    MEMORY_LAYOUTS,
    batch_sizes,
    float_arrays,
    hidden_states,
    memory_layouts,
    mostly_small,
    rnn_cases,
    rnn_configs,
    rnn_parameters,
    round_to_dtype,
    sequence_lengths,
)
from rnn_conformance.harness import to_tensor
from rnn_conformance.numerics import dtypes
from rnn_conformance.numerics.config import RNNConfig


def minimal(strategy, condition):
    # find() without the example database: an entry saved under an earlier version of a
    # strategy replays as another value, and is not shrunk again.
    return find(strategy, condition, settings=settings(max_examples=2000, database=None))


@given(rnn_configs(max_input_size=5, max_hidden_size=6, max_layers=2))
def test_configs_respect_bounds(config):
    assert 1 <= config.input_size <= 5
    assert 1 <= config.hidden_size <= 6
    assert 1 <= config.num_layers <= 2
    assert config.dropout == 0.0 or config.num_layers > 1


@given(
    rnn_configs(
        min_input_size=3,
        max_input_size=5,
        min_hidden_size=20,
        max_hidden_size=21,
        min_layers=2,
        max_layers=3,
        dropouts=(0.5,),
    )
)
def test_configs_respect_lower_bounds(config):
    assert 3 <= config.input_size <= 5
    assert 20 <= config.hidden_size <= 21
    assert 2 <= config.num_layers <= 3
    assert config.dropout == 0.5


@given(st.data())
def test_sizes_respect_bounds(data):
    low = data.draw(st.integers(1, 20), label="low")
    high = data.draw(st.integers(low, 40), label="high")
    assert low <= data.draw(sequence_lengths(min_len=low, max_len=high)) <= high
    assert low <= data.draw(mostly_small(high, typical=4, min_value=low)) <= high
    size = data.draw(batch_sizes(min_size=low, max_size=high))
    assert size is None or size == 0 or low <= size <= high
    sized = batch_sizes(min_size=low, max_size=high, allow_unbatched=False, allow_empty=False)
    assert low <= data.draw(sized) <= high


@pytest.mark.parametrize(
    ("strategy", "expected"),
    [
        (rnn_configs(), RNNConfig(1, 1)),
        (
            rnn_configs(min_input_size=3, min_hidden_size=5, min_layers=2),
            RNNConfig(3, 5, num_layers=2),
        ),
        (rnn_configs(min_layers=2, dropouts=(1.0, 0.5)), RNNConfig(1, 1, 2, dropout=0.5)),
        (rnn_configs(relu=True), RNNConfig(1, 1, nonlinearity="relu")),
        (rnn_configs(family="lstm"), RNNConfig(1, 1, family="lstm")),
        (sequence_lengths(min_len=7), 7),
        (mostly_small(30, typical=4, min_value=9), 9),
        (batch_sizes(min_size=3), 3),
        (batch_sizes(min_size=3, allow_empty=False, allow_unbatched=False), 3),
    ],
    ids=repr,
)
def test_examples_shrink_to_the_minimum_the_bounds_allow(strategy, expected):
    assert minimal(strategy, lambda _: True) == expected


def test_configs_shrink_to_the_simplest():
    assert minimal(rnn_configs(), lambda c: True) == RNNConfig(1, 1)


def test_batch_sizes_keep_the_special_sizes_only_when_needed():
    assert minimal(batch_sizes(), lambda n: n != 1) == 2
    assert minimal(batch_sizes(), lambda n: not n) == 0
    assert minimal(batch_sizes(), lambda n: n is None) is None


def test_causal_configs_without_a_filter():
    # One layer in either direction, or several forwards only: the second layer of a
    # bidirectional RNN sees the whole sequence.
    causal = rnn_configs(max_layers=1) | rnn_configs(min_layers=2, bidirectional=False)
    assert minimal(causal, lambda c: True) == RNNConfig(1, 1)
    assert not minimal(causal, lambda c: c.num_layers > 1).bidirectional
    assert minimal(causal, lambda c: c.bidirectional).num_layers == 1


@settings(max_examples=50)
@given(rnn_configs(max_layers=1) | rnn_configs(min_layers=2, bidirectional=False))
def test_causal_configs_are_causal(config):
    assert config.num_layers == 1 or not config.bidirectional


@pytest.mark.parametrize(
    ("make", "kwargs", "message"),
    [
        (rnn_configs, dict(max_input_size=0), "max_input_size=0 must be at least 1"),
        (rnn_configs, dict(min_input_size=0), "min_input_size=0 must be at least 1"),
        (rnn_configs, dict(max_hidden_size=-1), "max_hidden_size=-1 must be at least 1"),
        (rnn_configs, dict(max_layers=1.5), "max_layers=1.5 must be an int"),
        (rnn_configs, dict(min_layers="2"), "min_layers='2' must be an int"),
        (rnn_configs, dict(min_layers=True), "min_layers=True must be an int"),
        (rnn_configs, dict(min_layers=5, max_layers=3), "min_layers=5 must be <= max_layers=3"),
        (
            rnn_configs,
            dict(min_input_size=65),
            "min_input_size=65 must be <= max_input_size=64",
        ),
        (
            rnn_configs,
            dict(min_hidden_size=4, max_hidden_size=3),
            "min_hidden_size=4 must be <= max_hidden_size=3",
        ),
        (rnn_configs, dict(relu="yes"), "relu='yes' must be True, False or None"),
        (rnn_configs, dict(family="xlstm"), "family='xlstm': unknown recurrent family"),
        (rnn_configs, dict(own_arguments=None), "own_arguments=None must be True or False"),
        (rnn_configs, dict(dropouts=(1.5,)), "dropouts contains 1.5"),
        (rnn_configs, dict(dropouts=("0.5",)), "dropouts contains '0.5'"),
        (rnn_configs, dict(bias="yes"), "bias='yes'"),
        (sequence_lengths, dict(min_len=0), "min_len=0 must be at least 1"),
        (sequence_lengths, dict(min_len=5, max_len=4), "min_len=5 must be <= max_len=4"),
        (sequence_lengths, dict(typical=1.0), "typical=1.0 must be an int"),
        (batch_sizes, dict(min_size=0), "min_size=0 must be at least 1"),
        (batch_sizes, dict(min_size=17), "min_size=17 must be <= max_size=16"),
        (batch_sizes, dict(allow_empty=None), "allow_empty=None must be True or False"),
        (rnn_cases, dict(dtypes=("float8",)), "dtypes contains 'float8'"),
        (rnn_cases, dict(configs=RNNConfig(1, 1)), "configs=RNNConfig("),
        (rnn_cases, dict(allow_none_hx=1), "allow_none_hx=1"),
    ],
    ids=lambda value: value.__name__ if callable(value) else None,
)
def test_invalid_arguments_raise_at_the_call_naming_them(make, kwargs, message):
    with pytest.raises(InvalidArgument, match=re.escape(message)):
        make(**kwargs)


def test_mostly_small_validates_its_bounds():
    with pytest.raises(InvalidArgument, match=re.escape("min_value=5 must be <= max_value=3")):
        mostly_small(3, typical=2, min_value=5)
    with pytest.raises(InvalidArgument, match=re.escape("min_value=-1 must be at least 0")):
        mostly_small(3, typical=2, min_value=-1)


@pytest.mark.parametrize(
    ("make", "argument", "suggestion"),
    [
        (rnn_configs, dict(dropouts="0.5"), "dropouts=(0.0, 0.5)"),
        (rnn_cases, dict(dtypes="float32"), "dtypes=('float32',)"),
        (
            lambda **kwargs: float_arrays((2,), **kwargs),
            dict(magnitudes="1.0"),
            "magnitudes=(1.0, 0.01, 4.0, 30.0)",
        ),
    ],
    ids=["dropouts", "dtypes", "magnitudes"],
)
def test_a_string_for_a_sequence_is_rejected_with_a_suggestion(make, argument, suggestion):
    ((name, value),) = argument.items()
    expected = f"{name}={value!r} is a string, not a sequence of values: pass a sequence, e.g. "
    with pytest.raises(InvalidArgument, match=re.escape(expected + suggestion)):
        make(**argument)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: float_arrays((2, -1)), "shape=(2, -1) must be a tuple of non-negative ints"),
        (lambda: float_arrays((2,), dtype="int8"), "dtype='int8' is not one of"),
        (lambda: float_arrays((2,), magnitudes=()), "magnitudes must not be empty"),
        (lambda: float_arrays((2,), magnitudes=(0.0,)), "magnitudes contains 0.0"),
        (lambda: rnn_parameters((2, 3)), "config=(2, 3) must be an RNNConfig"),
        (lambda: hidden_states(RNNConfig(2, 3), -1), "batch_size=-1 must be at least 0"),
        (lambda: round_to_dtype(1.0, "float8"), "dtype='float8' is not one of"),
    ],
)
def test_value_strategies_validate_their_arguments(make, message):
    with pytest.raises(InvalidArgument, match=re.escape(message)):
        make()


CONFIG = RNNConfig(2, 3, num_layers=2)


@pytest.mark.parametrize(
    ("strategy", "expected"),
    [
        (rnn_configs(), "rnn_configs()"),
        (rnn_configs(max_layers=2), "rnn_configs(max_layers=2)"),
        (
            rnn_configs(min_layers=2, relu=False, bidirectional=True),
            "rnn_configs(min_layers=2, relu=False, bidirectional=True)",
        ),
        (rnn_cases(dtypes=("float64",)), "rnn_cases(dtypes=('float64',))"),
        (
            rnn_cases(configs=rnn_configs(max_layers=1), batches=batch_sizes(allow_empty=False)),
            "rnn_cases(configs=rnn_configs(max_layers=1), batches=batch_sizes(allow_empty=False))",
        ),
        (sequence_lengths(min_len=2, max_len=40), "sequence_lengths(min_len=2, max_len=40)"),
        (batch_sizes(min_size=2), "batch_sizes(min_size=2)"),
        (mostly_small(64, typical=8), "mostly_small(64, typical=8)"),
        (float_arrays((2, 3), dtype="float64"), "float_arrays((2, 3), dtype='float64')"),
        (rnn_parameters(CONFIG), f"rnn_parameters({CONFIG!r})"),
        (
            hidden_states(CONFIG, None, allow_none=False),
            f"hidden_states({CONFIG!r}, None, allow_none=False)",
        ),
        (memory_layouts(), "memory_layouts()"),
        (
            rnn_configs(max_layers=1) | rnn_configs(min_layers=2, bidirectional=False),
            "one_of(rnn_configs(max_layers=1), rnn_configs(min_layers=2, bidirectional=False))",
        ),
        (rnn_configs().map(str), "rnn_configs().map(str)"),
    ],
    ids=repr,
)
def test_strategies_print_as_the_call_that_made_them(strategy, expected):
    assert repr(strategy) == expected
    # The repr is Python that makes an equivalent strategy.
    namespace = {**vars(strategies), "one_of": st.one_of}
    assert repr(eval(expected, namespace)) == expected


def test_the_one_dtype_table_and_the_one_case_model_are_re_exported():
    assert strategies.FLOAT_DTYPES is dtypes.FLOAT_DTYPES
    assert strategies.RNNCase is cases.RNNCase


@pytest.mark.parametrize(
    "condition",
    [
        lambda c: c.config.hidden_size > 32,
        lambda c: c.seq_len > 40,
        lambda c: c.batch_size is not None and c.batch_size > 8,
        lambda c: c.batch_size == 0,
        lambda c: c.batch_size is None,
        lambda c: (
            c.config.option("nonlinearity") == "relu" and np.abs(c.input).max(initial=0) >= 20
        ),
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
