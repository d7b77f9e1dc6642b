"""A new family is one module and one registry entry: toy families prove the seam.

The toy families (``tests/toy_families.py``) are all a family writes: its own arguments as
data, its step and backward step in the shared arithmetic; the layer loop, layouts, BPTT,
error bounds, strategies and properties come from the seam.

* In process, the shared reference and hand-written gradients are checked against a
  direct torch float64 implementation of the same recurrences under autograd, so the
  shared code is right for a gated cell that reads ``h`` directly (``toy_gated``), a state
  with two parts (``toy_cell_state``) and a cell with a constructor argument of its own
  (``toy_leaky``'s ``leak``); float32 runs of them fall within the shared error bounds.
* ``toy_leaky``'s own argument is drawn, validated, passed to the module in signature
  order and to the cell, and shown, with nothing of it outside its module.
* The proof: one pytest session registers ``toy_leaky`` with one line
  (``-p toy_family_plugin``) and runs every shared property against its pure-torch module
  and cell (``tests/toy_family_targets.py``): none fails, and every skip is the property's
  own (one device; a design needing a relu mode), not the toy's.
* Nothing under ``rnn_conformance/`` names a toy family.
"""

import inspect
import math
import os
import re
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import toy_families
from hypothesis import find, given, settings
from hypothesis import strategies as st
from hypothesis.errors import NoSuchExample
from toy_families import LEAK_STEPS, TOY_LEAKY, ToyCellState, ToyGated
from toy_family_targets import ToyLeakyCell, ToyLeakyRNN

from rnn_conformance.generation.strategies import rnn_configs
from rnn_conformance.numerics.backprop import gradients_from_trace
from rnn_conformance.numerics.config import RNNConfig
from rnn_conformance.numerics.families import FAMILIES, family_named
from rnn_conformance.numerics.reference import forward_trace
from rnn_conformance.numerics.tolerances import (
    Precision,
    assert_within,
    forward_error_bounds,
    gradients_and_error_bounds,
)

TESTS = Path(__file__).resolve().parent
PACKAGE = TESTS.parent / "rnn_conformance"
TOYS = (ToyGated(), ToyCellState(), TOY_LEAKY)


def torch_step(config: RNNConfig, gi, gh, state):
    """The same recurrences written directly in torch, for autograd to differentiate."""
    name = config.family.name
    if name == "toy_leaky":
        leak = config.option("leak")
        return ((1 - leak) * state[0] + leak * torch.tanh(gi + gh),)
    a, b = (gi + gh).chunk(2, dim=-1)
    if name == "toy_gated":
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
                state = torch_step(config, gi, gh, state)
                hs.append(state[0])
            finals.append(state)
            out = torch.stack(hs)
            outs.append(out.flip(0) if d else out)
        layer_input = torch.cat(outs, dim=-1)
    parts = [torch.stack([f[i] for f in finals]) for i in range(len(initial))]
    return layer_input, parts


@pytest.fixture(autouse=True)
def registered(monkeypatch):
    for family in TOYS:
        monkeypatch.setitem(FAMILIES, family.name, family)


def test_a_registered_family_is_named_and_shapes_follow_its_gates_and_state():
    config = RNNConfig(3, 4, num_layers=2, bidirectional=True, family="toy_cell_state")
    assert family_named("toy_cell_state").title == "nn.ToyCellState"
    assert config.parameter_shapes()["weight_ih_l1_reverse"] == (8, 8)
    assert config.state_shapes(5) == ((4, 5, 4), (4, 5, 4))
    assert "nonlinearity" not in config.constructor_kwargs()
    with pytest.raises(ValueError, match=r"nn\.ToyGated takes no nonlinearity"):
        RNNConfig(3, 4, nonlinearity="relu", family="toy_gated")


# Small sizes of every toy family; toy_leaky's leak is drawn by its own option_strategy.
configs = st.sampled_from(TOYS).flatmap(
    lambda family: rnn_configs(
        max_input_size=4, max_hidden_size=5, max_layers=2, dropouts=(), family=family
    )
)


@settings(max_examples=45, deadline=None)
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


@settings(max_examples=20, deadline=None)
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


# -- a family with an argument of its own ---------------------------------------------------

SIGNATURE_ORDER = [
    "input_size",
    "hidden_size",
    "num_layers",
    "leak",
    "bias",
    "batch_first",
    "dropout",
    "bidirectional",
]


def test_the_family_draws_its_own_argument_shrinking_to_its_default():
    leaky = rnn_configs(max_input_size=4, max_hidden_size=5, family=TOY_LEAKY)
    assert find(leaky, lambda c: True).option("leak") == 1.0  # the minimal config: default
    drawn = find(leaky, lambda c: c.option("leak") < 0.5)
    assert 0 < drawn.option("leak") < 0.5
    # The registered name draws the same family.
    assert find(rnn_configs(family="toy_leaky"), lambda c: True).family is TOY_LEAKY
    # Its own arguments kept at their defaults where a property asks so.
    fixed = rnn_configs(family=TOY_LEAKY, own_arguments=False)
    with pytest.raises(NoSuchExample):
        find(fixed, lambda c: c.option("leak") != 1.0, settings=settings(max_examples=30))


@settings(max_examples=40, deadline=None)
@given(config=rnn_configs(max_input_size=4, max_hidden_size=5, family=TOY_LEAKY))
def test_drawn_leaks_are_valid_and_reach_the_module_and_the_cell(config):
    leak = config.option("leak")
    assert 0 < leak <= 1
    assert (leak * LEAK_STEPS).is_integer()
    assert config.family_kwargs() == {"leak": leak}
    kwargs = config.constructor_kwargs()
    # In the module's signature order: after num_layers, where nn.RNN has nonlinearity.
    assert list(kwargs) == SIGNATURE_ORDER
    assert list(inspect.signature(ToyLeakyRNN).parameters)[: len(kwargs)] == list(kwargs)
    module = ToyLeakyRNN(*kwargs.values())  # positionally, so the order is what counts
    assert module.leak == leak
    assert config.cell_kwargs() == {
        "input_size": config.input_size,
        "hidden_size": config.hidden_size,
        "bias": config.bias,
        "leak": leak,
    }
    assert ToyLeakyCell(**config.cell_kwargs()).leak == leak
    assert f"leak={leak!r}" in config.describe()
    assert f"leak={leak!r}" in repr(config)
    assert eval(repr(config), {"RNNConfig": RNNConfig}) == config
    assert config.label().startswith("toy_leaky, " + ("no leak" if leak == 1 else "leaky"))


def test_its_own_argument_is_validated_kept_and_shown():
    config = RNNConfig(3, 4, 2, bidirectional=True, family="toy_leaky", leak=0.25)
    assert config.option("leak") == 0.25
    assert RNNConfig(3, 4, family=TOY_LEAKY).option("leak") == 1.0  # its default
    assert repr(config) == (
        "RNNConfig(input_size=3, hidden_size=4, num_layers=2, leak=0.25, bias=True, "
        "batch_first=False, dropout=0.0, bidirectional=True, family='toy_leaky')"
    )
    assert config.describe() == (
        "ToyLeakyRNN(input_size=3, hidden_size=4, num_layers=2, leak=0.25, bias=True, "
        "batch_first=False, dropout=0.0, bidirectional=True)"
    )
    # Kept through with_, dropped for another family, which starts from its own defaults.
    assert config.with_(num_layers=1).option("leak") == 0.25
    assert config.with_(leak=0.5).option("leak") == 0.5
    assert config.with_(family="rnn").family_kwargs() == {"nonlinearity": "tanh"}
    with pytest.raises(ValueError, match="takes no leak"):
        RNNConfig(3, 4, leak=0.5)
    for bad in (0.0, -0.5, 1.5, math.nan, "half", True, None):
        with pytest.raises(ValueError, match="leak"):
            RNNConfig(3, 4, family="toy_leaky", leak=bad)
    with pytest.raises(ValueError, match=r"nn\.ToyLeakyRNN takes no nonlinearity"):
        RNNConfig(3, 4, family="toy_leaky", nonlinearity="tanh")
    # Its module rejects what the family declares it rejects, with the declared type.
    valid = {"input_size": 3, "hidden_size": 4, "num_layers": 2}
    ToyLeakyRNN(**valid)
    for change, error in TOY_LEAKY.invalid_arguments:
        with pytest.raises(error):
            ToyLeakyRNN(**{**valid, **change})


def test_the_toy_module_is_nn_rnn_at_leak_one_and_leaks_otherwise():
    torch.manual_seed(0)
    toy = ToyLeakyRNN(3, 4, 2, bidirectional=True, batch_first=True, dtype=torch.float64)
    rnn = torch.nn.RNN(3, 4, 2, bidirectional=True, batch_first=True, dtype=torch.float64)
    rnn.load_state_dict(toy.state_dict())
    x = torch.randn(2, 5, 3, dtype=torch.float64)
    for mine, torchs in zip(toy(x), rnn(x), strict=True):
        torch.testing.assert_close(mine, torchs, rtol=0, atol=1e-14)
    toy.leak = 0.5
    assert not torch.allclose(toy(x)[0], rnn(x)[0])
    assert "leak=0.5" in repr(toy)


# -- the proof: every shared property, one session, one registry line -----------------------

EXAMPLES = 3
"""Examples per property in the proof's session (the ``ci`` profile's settings otherwise:
derandomised, no database). Every property runs against the toy, and the shared properties
are held to their claims over the whole space by tests/test_every_family_passes.py; three
examples are enough to show that the seam carries a new family through each of them."""
PROFILE = "ci-toy-family"
CONFTEST = f"""
from hypothesis import settings
from rnn_conformance.running.profiles import PROFILES

settings.register_profile({PROFILE!r}, parent=PROFILES["ci"], max_examples={EXAMPLES})
"""
ALLOWED_SKIPS = {
    # test_all_selected_devices_agree compares devices; a CPU-only run has one.
    "needs two or more devices to compare",
    # test_training_dropout_acts_only_between_layers: PyTorch's integer-multiples design
    # needs a relu mode, which the toy (like nn.LSTM and nn.GRU) does not have.
    "the exact integer-multiples design (PyTorch's test_RNN_dropout trick) needs a relu "
    "network; nn.ToyLeakyRNN has no relu",
}
"""The only skips allowed: each is the property's own limit, not a failure of the toy."""
OWN_ARGUMENT_CHECKS = [
    "test_bad_constructor_arguments_raise_like_nn_rnn[toy_leaky-cpu-leak=0.0]",
    "test_bad_constructor_arguments_raise_like_nn_rnn[toy_leaky-cpu-leak=1.5]",
    "test_bad_constructor_arguments_raise_like_nn_rnn[toy_leaky-cpu-leak=half]",
    "test_known_cases_match_reference[toy_leaky-cpu-leak_half_2_layers_bidirectional_hx]",
]
"""Properties that exist for the toy because of what it declares about its argument."""


def _with_tests_on_path():
    # Prepended, so that whatever PYTHONPATH the outer run has reaches the inner one too.
    return os.pathsep.join(filter(None, [str(TESTS), os.environ.get("PYTHONPATH")]))


def test_a_new_family_registered_by_one_line_passes_every_shared_property(pytester, monkeypatch):
    pytester.makeconftest(CONFTEST)
    monkeypatch.setenv("PYTHONPATH", _with_tests_on_path())
    started = time.perf_counter()
    result = pytester.runpytest_subprocess(
        *("--pyargs", "rnn_conformance.properties", "-p", "no:cacheprovider"),
        *("-p", "toy_family_plugin", "--rnn-family", "toy_leaky"),
        *("--rnn-impl", "toy_family_targets:ToyLeakyRNN"),
        *("--rnn-cell-impl", "toy_family_targets:ToyLeakyCell"),
        f"--hypothesis-profile={PROFILE}",
        "-v",
        "-rs",
    )
    elapsed = time.perf_counter() - started
    text = result.stdout.str()
    outcomes = result.parseoutcomes()
    assert result.ret == 0, text[-6000:]
    # Deselected: the transforms' property, which no eager subject has.
    assert set(outcomes) <= {"passed", "skipped", "deselected", "warnings"}, outcomes
    assert outcomes.get("passed", 0) >= 65, outcomes  # every property ran, not collected
    assert outcomes.get("skipped", 0) <= len(ALLOWED_SKIPS), outcomes
    result.stdout.fnmatch_lines(["*subjects: toy_leaky-cpu: toy_family_targets:ToyLeakyRNN*"])
    reasons = re.findall(r"^SKIPPED \[\d+\] \S+: (.*)$", text, flags=re.M)
    for reason in reasons:
        assert any(reason.startswith(allowed) for allowed in ALLOWED_SKIPS), reason
    verdicts = dict(re.findall(r"::(test_\w+\[.*\]) (PASSED|SKIPPED|FAILED)", text))
    for nodeid in OWN_ARGUMENT_CHECKS:
        assert verdicts.get(nodeid) == "PASSED", (nodeid, verdicts.get(nodeid))
    print(f"proof session: {outcomes} in {elapsed:.1f} s")


# -- the seam: no edit outside the family's module and the registry line --------------------


def test_nothing_in_the_package_names_a_toy_family():
    toys = [family.name for family in TOYS] + [type(family).__name__ for family in TOYS]
    toys += ["toy_famil", "ToyLeaky"]  # the modules and the targets' classes
    pattern = re.compile("|".join(map(re.escape, toys)))
    named = [
        f"{path.relative_to(PACKAGE.parent)}: {found.group()}"
        for path in sorted(PACKAGE.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts
        for found in [pattern.search(path.read_text(errors="replace"))]
        if found
    ]
    assert not named, named
    # The family's module uses only the package's public seam, and nothing of the tests.
    imported = re.findall(r"^(?:from|import) (\S+)", inspect.getsource(toy_families), re.M)
    assert {name.split(".")[0] for name in imported} <= {
        "__future__",
        "collections",
        "typing",
        "numpy",
        "hypothesis",
        "rnn_conformance",
    }, imported
    # The registry line is all the plugin adds.
    plugin = (TESTS / "toy_family_plugin.py").read_text()
    assert re.findall(r"^\s*(FAMILIES\W.*)$", plugin, re.M) == [
        "FAMILIES[TOY_LEAKY.name] = TOY_LEAKY"
    ]
