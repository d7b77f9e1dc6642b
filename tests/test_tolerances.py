"""The shared tolerance policy: loose enough for nn.RNN, tight enough to catch low precision."""

import copy

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from rnn_conformance.numerics.reference import elman_forward_trace
from rnn_conformance.numerics.tolerances import (
    SAFETY,
    Precision,
    ToleranceError,
    assert_within,
    find_mismatch,
    forward_error_bounds,
    gradients_and_error_bounds,
    unit_roundoff,
)


def _ratio(module, dtype, low_dtype=None, *, seq_len, batch, seed):
    """Largest error / allowed for module in dtype, optionally computed in low_dtype."""
    gen = torch.Generator().manual_seed(seed)
    module = module.to(dtype)
    D = 2 if module.bidirectional else 1
    x = (torch.rand(seq_len, batch, module.input_size, generator=gen, dtype=dtype) * 2 - 1) * 3
    h0 = (
        torch.rand(D * module.num_layers, batch, module.hidden_size, generator=gen, dtype=dtype)
        - 0.5
    )
    run = module if low_dtype is None else copy.deepcopy(module).to(low_dtype)
    with torch.no_grad():
        out, _ = run(x.to(run.weight_ih_l0.dtype), h0.to(run.weight_ih_l0.dtype))
    ref, _, trace = elman_forward_trace(
        x, dict(module.named_parameters()), h0, nonlinearity=module.nonlinearity
    )
    bounds = forward_error_bounds(trace, Precision.of(dtype), batched=True, batch_first=False)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.abs(out.double().numpy() - ref) / (SAFETY * bounds.output)
    return float(np.nan_to_num(ratio, nan=0.0).max())


def module_settings(min_hidden=1):
    return _module_settings(min_hidden)


def _module_settings(min_hidden):
    return st.builds(
        dict,
        input_size=st.integers(1, 48),
        hidden_size=st.integers(min_hidden, 64),
        num_layers=st.integers(1, 3),
        nonlinearity=st.sampled_from(["tanh", "relu"]),
        bidirectional=st.booleans(),
    )


# A single output value may round the same in bfloat16 by luck; with at least a few
# dozen outputs some always differ visibly. The suite's properties see many examples.
LOW_PRECISION_SIZES = dict(
    kwargs=module_settings(min_hidden=4),
    seq_len=st.integers(4, 40),
    batch=st.integers(2, 6),
    seed=st.integers(0, 99),
)


@settings(max_examples=30, deadline=None)
@given(
    kwargs=module_settings(),
    seq_len=st.integers(1, 40),
    batch=st.integers(1, 6),
    seed=st.integers(0, 99),
)
def test_float32_nn_rnn_stays_well_inside_the_bound(kwargs, seq_len, batch, seed):
    torch.manual_seed(seed)
    assert (
        _ratio(torch.nn.RNN(**kwargs), torch.float32, seq_len=seq_len, batch=batch, seed=seed) < 0.5
    )


@settings(max_examples=30, deadline=None)
@given(**LOW_PRECISION_SIZES)
def test_bfloat16_arithmetic_in_a_float32_module_exceeds_the_bound(kwargs, seq_len, batch, seed):
    torch.manual_seed(seed)
    module = torch.nn.RNN(**kwargs)
    assert (
        _ratio(module, torch.float32, torch.bfloat16, seq_len=seq_len, batch=batch, seed=seed) > 1
    )


@settings(max_examples=15, deadline=None)
@given(**LOW_PRECISION_SIZES)
def test_float32_arithmetic_in_a_float64_module_exceeds_the_bound(kwargs, seq_len, batch, seed):
    torch.manual_seed(seed)
    module = torch.nn.RNN(**kwargs)
    assert _ratio(module, torch.float64, torch.float32, seq_len=seq_len, batch=batch, seed=seed) > 1


def test_unit_roundoff_table():
    assert unit_roundoff("torch.float32") == 2.0**-24
    assert unit_roundoff(torch.bfloat16) == 2.0**-8
    with pytest.raises(ValueError, match="unknown floating dtype 'int8'"):
        unit_roundoff("int8")


def test_mismatch_report_names_location_error_and_bound():
    expected = np.zeros((3, 2, 4))
    actual = expected.copy()
    actual[2, 1, 3] = 1e-3
    actual[0, 0, 0] = 5e-4
    with pytest.raises(ToleranceError) as info:
        assert_within(
            actual,
            expected,
            1e-5,
            what="output",
            axes=("step", "batch", "unit"),
            context="ctx line",
        )
    text = str(info.value)
    assert "ctx line" in text
    assert "2 of 24 elements outside tolerance" in text
    assert "(step=2, batch=1, unit=3)" in text
    assert f"allowed={SAFETY * 1e-5:.3e}" in text
    assert "largest absolute error 1.000e-03" in text


def test_nan_against_finite_is_a_mismatch_and_nan_against_nan_is_not():
    assert find_mismatch(np.array([np.nan]), np.array([1.0]), 1.0, what="x", axes=("i",))
    assert find_mismatch(np.array([np.nan]), np.array([np.nan]), 0.0, what="x", axes=("i",)) is None


def test_tf32_widens_only_float32_matmuls():
    assert Precision.of("float32", tf32=True).matmul > 1000 * Precision.of("float32").matmul
    assert Precision.of("float64", tf32=True) == Precision.of("float64")


def test_nan_output_is_reported_as_nan_with_its_first_index_and_count():
    # What a target returning NaN looks like: two NaN outputs, one finite miss.
    expected = np.full((3, 2, 4), 0.5)
    actual = expected.copy()
    actual[1, 0, 2] = np.nan
    actual[2, 1, 0] = np.nan
    actual[0, 1, 3] = 0.6
    with pytest.raises(ToleranceError) as info:
        assert_within(actual, expected, 1e-5, what="output", axes=("step", "batch", "unit"))
    text = str(info.value)
    assert "3 of 24 elements outside tolerance; 2 of them NaN in actual" in text
    assert "the first at (step=1, batch=0, unit=2): actual=nan, expected=0.5" in text
    # The finite miss is still located, and no statistic pretends a NaN is a number.
    assert "worst relative to its bound at (step=0, batch=1, unit=3)" in text
    assert "largest absolute error 1.000e-01 at (step=0, batch=1, unit=3)" in text
    assert "inf" not in text
    assert "|error|=nan" not in text
    mismatch = info.value.mismatch
    assert (mismatch.nan_count, mismatch.first_nan_index) == (2, (1, 0, 2))


def test_all_nan_output_says_so_instead_of_an_infinite_error():
    with pytest.raises(ToleranceError) as info:
        assert_within(np.full(3, np.nan), np.zeros(3), 1e-5, what="h_n", axes=("unit",))
    text = str(info.value)
    assert "3 of 3 elements outside tolerance; 3 of them NaN in actual" in text
    assert "the first at (unit=0)" in text
    assert "inf" not in text


def test_nan_in_expected_only_names_the_expected_side():
    with pytest.raises(ToleranceError) as info:
        assert_within(np.zeros(2), np.array([0.0, np.nan]), 1e-5, what="h_n", axes=("unit",))
    text = str(info.value)
    assert "1 of them NaN in expected but not in actual, the first at (unit=1)" in text
    assert "not NaN are within tolerance" in text


def _gradient_ratio(kwargs, dtype, low_dtype=None, *, seq_len, batch, seed):
    """Largest gradient error / allowed for nn.RNN in dtype, optionally run in low_dtype."""
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    module = torch.nn.RNN(**kwargs).to(dtype)
    D = 2 if module.bidirectional else 1
    x = (torch.rand(seq_len, batch, module.input_size, generator=gen, dtype=dtype) * 2 - 1) * 2
    h0 = torch.rand(D * module.num_layers, batch, module.hidden_size, generator=gen, dtype=dtype)
    params = dict(module.named_parameters())
    ref, ref_h_n, trace = elman_forward_trace(x, params, h0 - 0.5, nonlinearity=module.nonlinearity)
    grad_out = np.cos(np.arange(ref.size)).reshape(ref.shape)
    grad_h_n = np.sin(np.arange(ref_h_n.size)).reshape(ref_h_n.shape)
    run = module if low_dtype is None else copy.deepcopy(module).to(low_dtype)
    inputs = [t.to(run.weight_ih_l0.dtype).requires_grad_() for t in (x, h0 - 0.5)]
    out, h_n = run(*inputs)
    leaves = [*inputs, *run.parameters()]
    seeds = [torch.tensor(g, dtype=out.dtype) for g in (grad_out, grad_h_n)]
    grads = torch.autograd.grad((out, h_n), leaves, seeds)
    precision = Precision.of(dtype)
    exact, bounds = gradients_and_error_bounds(
        trace, forward_error_bounds(trace, precision), grad_out, grad_h_n
    )
    pairs = zip(
        grads,
        [exact.input, exact.hx, *exact.params.values()],
        [bounds.input, bounds.hx, *bounds.params.values()],
        strict=True,
    )
    worst = 0.0
    for actual, want, bound in pairs:
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.abs(actual.double().numpy() - want) / (SAFETY * bound)
        worst = max(worst, float(np.nan_to_num(ratio, nan=0.0, posinf=0.0).max()))
    return worst


@settings(max_examples=15, deadline=None)
@given(
    kwargs=module_settings(),
    seq_len=st.integers(1, 30),
    batch=st.integers(1, 5),
    seed=st.integers(0, 99),
)
def test_float32_nn_rnn_gradients_stay_well_inside_the_bound(kwargs, seq_len, batch, seed):
    ratio = _gradient_ratio(kwargs, torch.float32, seq_len=seq_len, batch=batch, seed=seed)
    assert ratio < 0.5


@settings(max_examples=10, deadline=None)
@given(**LOW_PRECISION_SIZES)
def test_bfloat16_gradients_in_a_float32_module_exceed_the_bound(kwargs, seq_len, batch, seed):
    ratio = _gradient_ratio(
        kwargs, torch.float32, torch.bfloat16, seq_len=seq_len, batch=batch, seed=seed
    )
    assert ratio > 1


def test_nested_results_are_compared_leaf_by_leaf_and_named_by_path():
    expected = (np.zeros((2, 3)), np.zeros((2, 3)))
    actual = (np.zeros((2, 3)), np.zeros((2, 3)))
    actual[1][1, 2] = 1.0
    with pytest.raises(ToleranceError) as info:
        assert_within(actual, expected, 1e-6, what="h_n", axes=("layer*direction", "unit"))
    assert "h_n[1]: 1 of 6 elements outside tolerance" in str(info.value)
    assert "(layer*direction=1, unit=2)" in str(info.value)


def test_a_single_result_where_a_tuple_is_expected_is_named():
    with pytest.raises(AssertionError, match=r"h_n: expected a tuple of 2 results, got a single"):
        assert_within(np.zeros(2), (np.zeros(2), np.zeros(2)), 1.0, what="h_n", axes=("unit",))
