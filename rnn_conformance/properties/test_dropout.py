"""Dropout: ignored in eval mode; in training mode only between layers, inverted, seeded.

Exact tests use PyTorch's own trick (test_RNN_dropout): relu, zero or no bias,
all-ones ``W_ih``, zero ``W_hh`` and all-ones input, so every value is an integer multiple of
``input_size * (1/(1-p))**(layers-1)`` and all units of a step agree unless the *last*
layer was dropped. p is 0.5 or 0.75, so these multiples are exact in float32. From the
multiples, the kept fraction of layer 0's outputs is checked against ``1 - p`` with a
Hoeffding bound at false-alarm probability 1e-8 per example (at most 1e-6 per run).
Random-weight checks (eval mode, p = 1, one layer) use the tolerance policy.

Which elements are dropped together is checked on a network that shows the mask
(:func:`mask_revealing_networks`): nn.RNN drops every element of a lower layer's
output independently at every time step, and both directions of the next layer read
that one dropped tensor. So masks of different steps agree no more than independent
draws do (one-sided Hoeffding, false-alarm probability 1e-8 per example: at most 1e-5
per run of 1000 examples), and the two directions see identical masks (exact).

A family without relu (nn.LSTM) has no such exact design: the three mask-revealing
properties skip for it, saying so, and reproducibility uses random weights.
"""

import math
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from rnn_conformance.cases import RNNCase
from rnn_conformance.config import RNNConfig
from rnn_conformance.families import family_named, selected_family
from rnn_conformance.harness import (
    build_module,
    compare_with_reference,
    hidden_axes,
    layer_params,
    observe,
    output_axes,
    precision_for,
    run_target,
    to_tensor,
)
from rnn_conformance.known_cases import seeded_case
from rnn_conformance.layouts import map_state
from rnn_conformance.parameters import parse_parameter_name
from rnn_conformance.reference import as_float64, forward_trace
from rnn_conformance.strategies import batch_sizes, config_flags, rnn_cases, rnn_configs
from rnn_conformance.tolerances import assert_within, forward_error_bounds, leaves

FALSE_ALARM_PER_EXAMPLE = 1e-8
non_empty = batch_sizes(allow_empty=False)

RELU_DESIGN = (
    "the exact mask-revealing design (PyTorch's test_RNN_dropout trick) needs a relu "
    "network; {title} has no relu, so its dropout between layers is checked by "
    "test_dropout_one_zeroes_the_inputs_of_upper_layers, test_eval_mode_ignores_dropout, "
    "test_dropout_is_a_no_op_for_one_layer and the reproducibility property instead"
)


def _needs_relu(suite):
    """Skip, saying why, where the family has no relu network to reveal masks exactly."""
    if "nonlinearity" not in suite.family.options:
        pytest.skip(RELU_DESIGN.format(title=suite.family.title))


@given(case=rnn_cases(configs=rnn_configs(min_layers=2, dropouts=(0.5, 1.0))))
def test_eval_mode_ignores_dropout(suite, device, case):
    observe(suite, case, device)
    compare_with_reference(suite, case, device, run_target(suite, case, device))


@st.composite
def _dropout_shapes(draw, family, num_layers):
    """A dropout config of ``family`` with >= 64 (step, batch) rows: ``(config, steps, batch)``.

    D*H >= 2, so at least 128 layer-0 outputs. nn.RNN's is relu, with zero biases when
    present (the same network for a target without bias=False); a family without relu
    keeps its bias (its random-weight networks need none to be zero).
    """
    own = {"nonlinearity": "relu"} if "nonlinearity" in family.options else {}
    config = RNNConfig(
        input_size=draw(st.integers(1, 4)),
        hidden_size=draw(st.integers(2, 8)),
        num_layers=num_layers,
        bias=draw(config_flags("bias")) if own else True,
        batch_first=draw(st.booleans()),
        dropout=draw(st.sampled_from([0.5, 0.75])),
        bidirectional=draw(config_flags("bidirectional")),
        family_name=family.name,
        **own,
    )
    steps = draw(st.integers(1, 12))
    fewest = max(1, math.ceil(64 / steps))
    return config, steps, draw(st.integers(fewest, max(fewest, 16)))


@st.composite
def ones_networks(draw, *, num_layers):
    """An all-ones relu network and its all-ones input: >= 64 rows, >= 128 layer-0 outputs.

    For a family without relu (nn.LSTM) the same shapes with U(-k, k) weights, bias on:
    its outputs reveal no mask exactly, but still depend on it.
    """
    family = family_named(selected_family())
    if "nonlinearity" not in family.options:
        return draw(_random_networks(family, num_layers))
    config, steps, batch = draw(_dropout_shapes(family, num_layers))
    params = {}
    for name, shape in config.parameter_shapes().items():
        params[name] = np.ones(shape) if name.startswith("weight_ih") else np.zeros(shape)
    return RNNCase(
        config, "float32", steps, batch, np.ones(config.input_shape(steps, batch)), None, params
    )


@st.composite
def _random_networks(draw, family, num_layers):
    config, steps, batch = draw(_dropout_shapes(family, num_layers))
    seed = draw(st.integers(0, 2**32 - 1), label="weights seed")
    return seeded_case(config, seq_len=steps, batch_size=batch, with_hx=False, seed=seed)


def _train_run(suite, case, device, seed):
    module = build_module(suite, case, device).train()
    x = to_tensor(case.input, dtype=case.dtype, device=device)
    torch.manual_seed(seed)
    output, h_n = suite.target.forward(module, x)
    return as_float64(output), map_state(as_float64, h_n)


def _multiples(case, output):
    """Divide by input_size * scale**(layers-1): integers if dropout is inverted dropout."""
    scale = 1.0 / (1.0 - case.config.dropout)
    return output / (case.config.input_size * scale ** (case.config.num_layers - 1))


@pytest.mark.rnn_requires("training_dropout")
@given(case=ones_networks(num_layers=2) | ones_networks(num_layers=3), seed=st.integers(0, 2**31))
def test_training_dropout_acts_only_between_layers(suite, device, case, seed):
    _needs_relu(suite)
    observe(suite, case, device)
    output, _ = _train_run(suite, case, device, seed)
    multiples = _multiples(case, output)
    units_agree = (multiples == multiples[..., :1]).all(axis=-1)
    assert units_agree.all(), (
        f"training-mode output differs between units of one step (the last layer's output "
        f"was dropped, dropout was applied inside a layer, or the directions of a layer "
        f"read differently dropped inputs), e.g. "
        f"{output[~units_agree][0]}\n  {case.describe()}"
    )
    fan = case.config.num_directions * case.config.hidden_size
    integral = (multiples == np.round(multiples)) & (multiples >= 0)
    integral &= multiples <= fan ** (case.config.num_layers - 1)
    assert integral.all(), (
        f"training-mode output {output[~integral][0]} is not a multiple of "
        f"input_size * (1/(1-p))**(num_layers-1): dropout is not inverted dropout with "
        f"p={case.config.dropout} between layers\n  {case.describe()}"
    )
    if case.config.num_layers == 2:
        kept = multiples[..., 0].sum() / output[..., 0].size / fan
        n = output[..., 0].size * fan
        allowed = math.sqrt(math.log(2 / FALSE_ALARM_PER_EXAMPLE) / (2 * n))
        assert abs(kept - (1 - case.config.dropout)) <= allowed, (
            f"dropout kept {kept:.3f} of {n} layer-0 outputs, expected "
            f"{1 - case.config.dropout} +- {allowed:.3f} (Hoeffding, false-alarm rate "
            f"{FALSE_ALARM_PER_EXAMPLE:g})\n  {case.describe()}"
        )


@pytest.mark.rnn_requires("training_dropout")
@given(case=ones_networks(num_layers=2), seed=st.integers(0, 2**31 - 1))
def test_training_dropout_is_reproducible_under_a_seed_and_varies_across_seeds(
    suite, device, case, seed
):
    observe(suite, case, device)
    first = _train_run(suite, case, device, seed)
    again = _train_run(suite, case, device, seed)
    other = _train_run(suite, case, device, seed + 1)
    pairs = [("output", first[0], again[0])]
    states = zip(leaves(first[1], "h_n"), leaves(again[1], "h_n"), strict=True)
    pairs += [(name, a, b) for (name, a), (_, b) in states]
    for name, a, b in pairs:
        assert np.array_equal(a, b), (
            f"{name} of two training-mode calls after torch.manual_seed({seed}) differ\n"
            f"  {case.describe()}"
        )
    # Each of the >= 64 rows of the output counts the kept layer-0 units of that row;
    # two independent masks give equal counts in a row with probability <= 0.47
    # (fan 2, p = 0.75 is the worst case), so equal outputs have probability < 1e-20.
    assert not np.array_equal(first[0], other[0]), (
        f"training-mode output is the same for torch.manual_seed({seed}) and {seed + 1}: "
        f"dropout does not use torch's generator\n  {case.describe()}"
    )


def _upper_layers_on_zeros(case, precision):
    """Reference for p = 1: layer 0 as usual, every layer above it fed zeros."""
    c, D = case.config, case.config.num_directions
    outputs, finals, output_bounds, final_bounds = None, [], None, []
    layer_input = case.input
    for layer in range(c.num_layers):
        params = layer_params(case.params, layer)
        hx = map_state(lambda h, k=layer: h[k * D : (k + 1) * D], case.hx)
        config = c.with_(num_layers=1, dropout=0.0, input_size=c.layer_input_size(layer))
        out, h_n, trace = forward_trace(config, layer_input, params, hx)
        bounds = forward_error_bounds(trace, precision)
        outputs, output_bounds = out, bounds.output
        finals.append(h_n)
        final_bounds.append(bounds.h_n)
        layer_input = np.zeros_like(out)
    stacked = map_state(lambda *parts: np.concatenate(parts), *finals)
    return (
        outputs,
        stacked,
        output_bounds,
        map_state(lambda *parts: np.concatenate(parts), *final_bounds),
    )


@pytest.mark.rnn_requires("training_dropout")
@given(
    case=rnn_cases(
        configs=rnn_configs(min_layers=2, dropouts=(1.0,)),
        batches=non_empty,
    )
)
def test_dropout_one_zeroes_the_inputs_of_upper_layers(suite, device, case):
    observe(suite, case, device)
    module = build_module(suite, case, device).train()
    run = run_target(suite, case, device, module=module)
    expected = _upper_layers_on_zeros(case, precision_for(suite, case, device))
    context = f"with dropout=1 in training mode, layers above 0 must see zeros\n  {case.describe()}"
    assert_within(
        run.output, expected[0], expected[2], what="output", axes=output_axes(case), context=context
    )
    assert_within(
        run.h_n, expected[1], expected[3], what="h_n", axes=hidden_axes(case), context=context
    )


@pytest.mark.rnn_requires("training_dropout")
@given(case=rnn_cases(configs=rnn_configs(max_layers=1)), p=st.sampled_from([0.5, 1.0]))
def test_dropout_is_a_no_op_for_one_layer(suite, device, case, p):
    config = case.config.with_(dropout=p)
    case = case.with_(config=config)
    observe(suite, case, device)
    with warnings.catch_warnings():
        # nn.RNN warns that dropout has no effect with num_layers=1: the point here.
        warnings.simplefilter("ignore", UserWarning)
        module = build_module(suite, case, device).train()
    run = run_target(suite, case, device, module=module)
    compare_with_reference(suite, case, device, run)


MIN_STEP_PAIRS = 128
"""Fewest (step pair, unit) comparisons per example; see the fresh-mask property."""


@st.composite
def mask_revealing_networks(draw, *, bidirectional=None):
    """A two-layer relu network whose output shows which layer-0 outputs were dropped.

    Layer 0 as in :func:`ones_networks` (all-ones ``W_ih``, zero ``W_hh``, zero or no bias,
    all-ones input): every layer-0 output is ``input_size``, and dropout turns it into 0
    or ``input_size / (1-p)``. Layer 1 has zero ``W_hh`` and an identity-like ``W_ih``:
    ``I`` unidirectional; ``[I | 2I]`` bidirectional, in both directions, so unit u of
    either direction reads layer-0 unit u (forward) with weight 1 and unit H + u
    (reverse) with weight 2. Each layer-1 output is then ``input_size / (1-p)`` times
    ``m[u] + 2 m[H+u]`` exactly (small integers; p is 0.5 or 0.75), and each direction's
    view of the keep mask ``m`` of every step can be decoded from it. At least 2 steps
    and :data:`MIN_STEP_PAIRS` (disjoint step pair, layer-0 unit) comparisons.
    """
    bidirectional = draw(config_flags("bidirectional", bidirectional))
    if "nonlinearity" not in family_named(selected_family()).options:
        # No relu design for this family: the properties using it skip (see RELU_DESIGN).
        return draw(_random_networks(family_named(selected_family()), 2))
    config = RNNConfig(
        input_size=draw(st.integers(1, 4)),
        hidden_size=draw(st.integers(1, 8)),
        num_layers=2,
        nonlinearity="relu",
        bias=draw(config_flags("bias")),
        batch_first=draw(st.booleans()),
        dropout=draw(st.sampled_from([0.5, 0.75])),
        bidirectional=bidirectional,
    )
    steps = draw(st.integers(2, 12))
    units = config.num_directions * config.hidden_size
    fewest = math.ceil(MIN_STEP_PAIRS / ((steps // 2) * units))
    batch = draw(st.integers(fewest, fewest + 8))
    eye = np.eye(config.hidden_size)
    upper = eye if not bidirectional else np.hstack([eye, 2 * eye])
    params = {}
    for name, shape in config.parameter_shapes().items():
        if not name.startswith("weight_ih"):
            params[name] = np.zeros(shape)
        else:
            params[name] = np.ones(shape) if parse_parameter_name(name)[1] == 0 else upper
    return RNNCase(
        config, "float32", steps, batch, np.ones(config.input_shape(steps, batch)), None, params
    )


def _masks_seen(suite, case, device, seed):
    """Each upper direction's view of layer 0's keep mask: D arrays (L, N, D*H) of 0/1."""
    c = case.config
    output, _ = _train_run(suite, case, device, seed)
    if c.batch_first:
        output = np.swapaxes(output, 0, 1)
    codes = output / (c.input_size / (1 - c.dropout))
    decodable = (codes == np.round(codes)) & (codes >= 0) & (codes < 2**c.num_directions)
    assert decodable.all(), (
        f"training-mode output {output[~decodable][0]} is not input_size/(1-p) times an "
        f"integer in [0, {2**c.num_directions}): layer 1 should read layer 0's output "
        f"with inverted dropout p={c.dropout} and nothing else (see "
        f"test_training_dropout_acts_only_between_layers)\n  {case.describe()}"
    )
    codes = codes.astype(np.int64)
    H, D = c.hidden_size, c.num_directions
    return [
        np.concatenate([(codes[..., d * H : (d + 1) * H] >> k) & 1 for k in range(D)], axis=-1)
        for d in range(D)
    ]


@pytest.mark.rnn_requires("training_dropout")
@given(case=mask_revealing_networks(), seed=st.integers(0, 2**31))
def test_training_dropout_draws_a_fresh_mask_at_every_step(suite, device, case, seed):
    """Masks of different steps agree no more often than independent masks do.

    Pair steps (0, 1), (2, 3), ... of each sequence and compare the keep mask of every
    layer-0 unit between the two steps of a pair. Under nn.RNN every element is kept
    independently with probability 1 - p, so each of these n comparisons agrees with
    probability q = p**2 + (1-p)**2, and, the pairs being disjoint, independently. By
    Hoeffding's inequality the agreeing fraction A satisfies
    P(A >= q + eps) <= exp(-2 n eps**2), which is 1e-8 for
    eps = sqrt(ln(1e8) / (2 n)). A mask reused at every step (Keras' recurrent dropout)
    gives A = 1, beyond q + eps whenever n > ln(1e8) / (2 (1-q)**2) = 66 at the worst
    q = 0.625 (p = 0.75); every example has n >= 128.
    """
    _needs_relu(suite)
    observe(suite, case, device)
    mask = _masks_seen(suite, case, device, seed)[0]
    pairs = case.seq_len // 2
    first, second = mask[0 : 2 * pairs : 2], mask[1 : 2 * pairs : 2]
    n = first.size
    agree = float((first == second).mean())
    p = case.config.dropout
    expected = p**2 + (1 - p) ** 2
    allowed = math.sqrt(math.log(1 / FALSE_ALARM_PER_EXAMPLE) / (2 * n))
    assert agree <= expected + allowed, (
        f"dropout masks of consecutive steps agree in {agree:.3f} of {n} (step pair, unit) "
        f"comparisons, but independent masks agree in {expected:.3f} + at most "
        f"{allowed:.3f} (Hoeffding, false-alarm rate {FALSE_ALARM_PER_EXAMPLE:g}): the "
        f"same mask is reused across time steps instead of drawn for every step and "
        f"element\n  {case.describe()}"
    )


@pytest.mark.rnn_requires("training_dropout", "bidirectional")
@given(case=mask_revealing_networks(bidirectional=True), seed=st.integers(0, 2**31))
def test_both_directions_of_the_next_layer_read_the_same_dropped_output(suite, device, case, seed):
    # Exact: under nn.RNN one dropped tensor feeds both directions, so the decoded views
    # are equal. Independent masks per direction agree everywhere with probability
    # (p**2 + (1-p)**2)**(L*N*2H) <= 0.625**256 < 1e-52, so such a bug never passes.
    _needs_relu(suite)
    observe(suite, case, device)
    forward_view, reverse_view = _masks_seen(suite, case, device, seed)
    differ = np.argwhere(forward_view != reverse_view)
    if len(differ):
        t, n, unit = differ[0]
        raise AssertionError(
            f"the forward and reverse directions of layer 1 read different dropout masks "
            f"of layer 0's output: at step {t}, batch element {n}, layer-0 unit {unit} "
            f"the forward direction saw it {_kept(forward_view[t, n, unit])} and the "
            f"reverse direction {_kept(reverse_view[t, n, unit])} ({len(differ)} of "
            f"{forward_view.size} elements differ); nn.RNN drops layer 0's output once "
            f"and both directions read it\n  {case.describe()}"
        )


def _kept(bit):
    return "kept" if bit else "dropped"
