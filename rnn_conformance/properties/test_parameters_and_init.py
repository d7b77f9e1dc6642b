"""Construction: parameter names, order, shapes, dtype and device; attributes; initialisation.

Initialisation must be U(-k, k), k = 1/sqrt(hidden_size), for every parameter (biases
included). Checked two ways on the pooled values w/k: none outside [-1, 1], and the
Kolmogorov-Smirnov distance to U(-1, 1) below the Dvoretzky-Kiefer-Wolfowitz bound
sqrt(ln(2/alpha) / (2n)) with alpha = 1e-8 per example, so with at most 100 examples
per run the false-alarm probability is at most 1e-6. Too narrow, too wide and
non-uniform draws fail (a large fixed configuration gives the test its power).

Invalid constructor arguments raise the family's torch module's exception type, each
counted only once the same target built the valid counterpart; ``NotImplementedError`` is
never accepted. An argument that belongs to a capability (nn.LSTM's ``proj_size`` to
``projection``) is skipped, naming it, when the target declares that capability
unsupported. A failure states the claim, the arguments, what nn.X raises (asked at run
time) and what the target did.
"""

import math

import numpy as np
import pytest
import torch
from hypothesis import example, given

from rnn_conformance.generation.strategies import rnn_configs
from rnn_conformance.harness import TORCH_DTYPES, observe_config
from rnn_conformance.harness.target import TargetContractError, resolve
from rnn_conformance.numerics.config import RNNConfig
from rnn_conformance.running.hooks.subjects import per_subject

FALSE_ALARM_PER_EXAMPLE = 1e-8
LARGE = "the large configuration"
"""Stands for :func:`large_config` of the subject in the explicit example below."""


def large_config(subject):
    """Two layers of 128 units, bidirectional unless declared unsupported: the test's power.

    The family's own arguments keep their defaults; the drawn configurations vary them.
    """
    bidirectional = "bidirectional" not in subject.unsupported
    return RNNConfig(64, 128, 2, bidirectional=bidirectional, family=subject.family)


def _build(subject, config, device, dtype="float32"):
    return subject.target.build(config, device=device, dtype=TORCH_DTYPES[dtype])


def _dtypes(subject):
    """float32, and float64 unless the target declared it unsupported."""
    return ("float32",) if "float64" in subject.unsupported else ("float32", "float64")


@given(config=rnn_configs())
def test_parameters_have_nn_rnn_names_order_shapes_dtype_and_device(subject, config):
    device = subject.device
    observe_config(subject, config)
    for dtype in _dtypes(subject):
        module = _build(subject, config, device, dtype)
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
def test_constructor_arguments_are_exposed_as_attributes(subject, config):
    device = subject.device
    observe_config(subject, config)
    module = _build(subject, config, device)
    for name, value in config.constructor_kwargs().items():
        assert getattr(module, name, "<missing>") == value, (
            f"attribute {name} is {getattr(module, name, '<missing>')!r}, expected {value!r}"
        )


@pytest.mark.rnn_requires("initialisation")
@given(config=rnn_configs())
@example(config=LARGE)
def test_initialisation_is_uniform_within_one_over_sqrt_hidden(subject, config):
    device = subject.device
    config = large_config(subject) if config == LARGE else config
    observe_config(subject, config)
    module = _build(subject, config, device, _dtypes(subject)[-1])
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


SHARED_BAD_ARGUMENTS = [
    (dict(dropout=-0.1), ValueError),
    (dict(dropout=1.5), ValueError),
    (dict(hidden_size=0), ValueError),
    (dict(hidden_size=-3), ValueError),
    (dict(num_layers=0), ValueError),
    (dict(hidden_size=4.5), TypeError),
    (dict(input_size=2.0), TypeError),
]


def _needs(family, change):
    """The capabilities a bad argument tests besides the error contract.

    A bad value of the family's own argument whose valid values need a capability is part
    of that capability (nn.LSTM's ``proj_size`` rules, of its projection): a target
    declaring it unsupported may refuse every value its own way. An argument the family
    does not take (nn.RNN's and nn.GRU's ``proj_size``) is their own argument check, and
    always applies.
    """
    return tuple(
        sorted({family.option_capabilities[n] for n in change if n in family.option_capabilities})
    )


def _argument_id(change):
    return f"{next(iter(change))}={next(iter(change.values()))}"


def bad_arguments(subject):
    """The family's own bad arguments, then the shared ones, with what each needs."""
    family = subject.family
    return [
        pytest.param(
            change,
            error,
            id=_argument_id(change),
            marks=pytest.mark.rnn_requires(*_needs(family, change)),
        )
        for change, error in [*family.invalid_arguments, *SHARED_BAD_ARGUMENTS]
    ]


def _call(target, kwargs, device):
    """The construction as the target is built (see Target.build_with)."""
    shown = ", ".join(f"{name}={value!r}" for name, value in kwargs.items())
    if target.takes_device_and_dtype:
        return f"{target.spec}({shown}, device={device!r}, dtype=torch.float32)"
    return f"{target.spec}({shown}).to({device!r}, torch.float32)"


def _what_torch_raises(family, kwargs):
    """What the family's torch module does with ``kwargs`` (on the CPU), for the message."""
    try:
        resolve(family.module_target)(**kwargs)
    except Exception as exc:
        return f"raises {type(exc).__name__}: {exc}"
    return "returns a module (the subject expects otherwise: its table is out of date)"


@pytest.mark.rnn_requires("error_contract")
@per_subject(("change", "error"), bad_arguments)
def test_bad_constructor_arguments_raise_like_nn_rnn(subject, change, error):
    device = subject.device
    family = subject.family
    valid = {"input_size": 3, "hidden_size": 4, "num_layers": 2}
    bad = {**valid, **change}
    claim = (
        f"claim: {family.title} rejects {_argument_id(change)} with {error.__name__}, and so "
        "must the target"
    )
    # A rejection proves something only if the same target builds the valid counterpart:
    # a target that raises for every argument must fail here, not pass.
    try:
        subject.target.build_with(valid, device=device, dtype=torch.float32)
    except TargetContractError as exc:
        raise TargetContractError(
            f"{claim}\n  a rejection counts only once the target builds the valid counterpart,"
            f" as {family.title} does, but {exc}"
        ) from None
    try:
        module = subject.target.build_with(bad, device=device, dtype=torch.float32)
    except TargetContractError as exc:
        # build_with wraps what the constructor raised; without a cause it is the contract.
        raised = exc.__cause__ if isinstance(exc.__cause__, Exception) else exc
    else:
        raised = None
    if isinstance(raised, error) and not isinstance(raised, NotImplementedError):
        return
    if raised is None:
        did = f"returned a module ({type(module).__name__}) instead of raising {error.__name__}"
    else:
        did = f"raised {type(raised).__name__}: {raised} (expected {error.__name__})"
        if isinstance(raised, NotImplementedError):
            did += (
                "; NotImplementedError says a feature is missing: declare the capability "
                "(rnn_conformance.generation.capabilities) if the target lacks one"
            )
    raise AssertionError(
        f"{claim}\n  arguments: {_call(subject.target, bad, device)}\n"
        f"  {family.title} {_what_torch_raises(family, bad)}\n  the target {did}"
    )
