"""Construction: parameter names, order, shapes, dtype and device; attributes; initialisation.

Initialisation must be U(-k, k), k = 1/sqrt(hidden_size), for every parameter (biases
included). Checked two ways on the pooled values w/k: none outside [-1, 1], and the
Kolmogorov-Smirnov distance to U(-1, 1) below the Dvoretzky-Kiefer-Wolfowitz bound
sqrt(ln(2/alpha) / (2n)) with alpha = 1e-8 per example, so with at most 100 examples
per run the false-alarm probability is at most 1e-6. Too narrow, too wide and
non-uniform draws fail (a large fixed configuration gives the test its power).
"""

import math

import numpy as np
import pytest
import torch
from hypothesis import example, given

from rnn_conformance.capabilities import declared_unsupported
from rnn_conformance.config import RNNConfig
from rnn_conformance.families import family_named, selected_family
from rnn_conformance.harness import TORCH_DTYPES, observe_config
from rnn_conformance.strategies import rnn_configs

FALSE_ALARM_PER_EXAMPLE = 1e-8
FAMILY = family_named(selected_family())
"""The session's family (``--rnn-family``): the parametrised cases below depend on it."""
# The session's declarations are known when the properties are collected: the example is
# built within them, as every drawn configuration is.
_GAPS = declared_unsupported()
LARGE = RNNConfig(
    input_size=64,
    hidden_size=128,
    num_layers=2,
    bidirectional="bidirectional" not in _GAPS,
    family_name=FAMILY.name,
    **({"proj_size": 32} if "proj_size" in FAMILY.options and "projection" not in _GAPS else {}),
)


def _build(suite, config, device, dtype="float32"):
    return suite.target.build(config, device=device, dtype=TORCH_DTYPES[dtype])


def _dtypes(suite):
    """float32, and float64 unless the target declared it unsupported."""
    return ("float32",) if "float64" in suite.unsupported else ("float32", "float64")


@given(config=rnn_configs())
def test_parameters_have_nn_rnn_names_order_shapes_dtype_and_device(suite, device, config):
    observe_config(suite, config)
    for dtype in _dtypes(suite):
        module = _build(suite, config, device, dtype)
        params = dict(module.named_parameters())
        assert list(params) == config.parameter_names(), (
            f"parameters {list(params)} != {config.family.title}'s {config.parameter_names()} for "
            f"{config.describe()}"
        )
        for name, shape in config.parameter_shapes().items():
            p = params[name]
            assert tuple(p.shape) == shape, f"{name} has shape {tuple(p.shape)}, expected {shape}"
            assert p.dtype == TORCH_DTYPES[dtype], f"{name} has dtype {p.dtype}, asked {dtype}"
            assert p.device.type == torch.device(device).type, f"{name} is on {p.device}"


@given(config=rnn_configs())
def test_constructor_arguments_are_exposed_as_attributes(suite, device, config):
    observe_config(suite, config)
    module = _build(suite, config, device)
    for name, value in config.constructor_kwargs().items():
        assert getattr(module, name, "<missing>") == value, (
            f"attribute {name} is {getattr(module, name, '<missing>')!r}, expected {value!r}"
        )


@pytest.mark.rnn_requires("initialisation")
@given(config=rnn_configs())
@example(config=LARGE)
def test_initialisation_is_uniform_within_one_over_sqrt_hidden(suite, device, config):
    observe_config(suite, config)
    module = _build(suite, config, device, _dtypes(suite)[-1])
    k = 1 / math.sqrt(config.hidden_size)
    values = np.sort(
        np.concatenate([p.detach().cpu().numpy().ravel() for p in module.parameters()]) / k
    )
    n = values.size
    outside = np.abs(values) > 1
    assert not outside.any(), (
        f"{outside.sum()} of {n} initial values outside [-k, k], k=1/sqrt({config.hidden_size});"
        f" extremes {values[0] * k:.6g}, {values[-1] * k:.6g}"
    )
    cdf = (values + 1) / 2
    ks = max(np.max(np.arange(1, n + 1) / n - cdf), np.max(cdf - np.arange(n) / n))
    allowed = math.sqrt(math.log(2 / FALSE_ALARM_PER_EXAMPLE) / (2 * n))
    assert ks <= allowed, (
        f"initial values are not U(-k, k): KS distance {ks:.4f} > {allowed:.4f} "
        f"(n={n}, false-alarm rate {FALSE_ALARM_PER_EXAMPLE:g}) for {config.describe()}"
    )


BAD_CONSTRUCTOR_ARGUMENTS = [
    *FAMILY.invalid_arguments,
    (dict(dropout=-0.1), ValueError),
    (dict(dropout=1.5), ValueError),
    (dict(hidden_size=0), ValueError),
    (dict(hidden_size=-3), ValueError),
    (dict(num_layers=0), ValueError),
    (dict(hidden_size=4.5), TypeError),
    (dict(input_size=2.0), TypeError),
]


@pytest.mark.rnn_requires("error_contract")
@pytest.mark.parametrize(
    ("change", "error"),
    BAD_CONSTRUCTOR_ARGUMENTS,
    ids=[f"{next(iter(c))}={next(iter(c.values()))}" for c, _ in BAD_CONSTRUCTOR_ARGUMENTS],
)
def test_bad_constructor_arguments_raise_like_nn_rnn(suite, device, change, error):
    valid = {"input_size": 3, "hidden_size": 4, "num_layers": 2}
    # A rejection proves something only if the same target builds the valid counterpart:
    # a target that raises for every argument must fail here, not pass.
    suite.target.build_with(valid, device=device, dtype=torch.float32)
    with pytest.raises(error):
        suite.target.factory(**{**valid, **change}, device=device, dtype=torch.float32)
